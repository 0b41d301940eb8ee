// Multivariant: the multivariant (master) playlist of an ABR ladder (RFC 8216
// 4.3.4): which media playlists a player can choose from, with the bit rates,
// codecs and sizes that let it choose. Rendered from the ladder's description
// and the rates measured by its media playlists, published atomically and
// durably like them.
#ifndef HLSBRIDGE_SRC_MULTIVARIANT_H_
#define HLSBRIDGE_SRC_MULTIVARIANT_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "env.h"
#include "playlist.h"
#include "status.h"
#include "thread_annotations.h"

namespace hlsbridge {

// One entry of a multivariant playlist as printed.
struct Rendition {
  enum class Kind {
    kVariant,  // EXT-X-STREAM-INF and its URI line
    kAudio,    // EXT-X-MEDIA:TYPE=AUDIO, in the group `group_id`
  };
  Kind kind = Kind::kVariant;
  std::string uri;     // encoded (EncodeUri)
  std::string codecs;  // RFC 6381, comma-separated; "" omits CODECS
  // Bits per second of this rendition alone; a variant's BANDWIDTH adds the
  // largest of its audio group (RFC 8216 4.3.4.2). average 0: not printed.
  uint64_t bandwidth = 0;
  uint64_t average_bandwidth = 0;
  // kVariant:
  int width = 0, height = 0;  // 0: no RESOLUTION
  double frame_rate = 0;      // 0: no FRAME-RATE
  std::string audio_group;    // AUDIO="..."; "" none
  // kAudio:
  std::string group_id, name, language;
  bool is_default = false;
  bool autoselect = true;
};

// The whole text. Variants are printed in the order given, after every
// EXT-X-MEDIA. Quoted values must have passed ValidateQuoted().
std::string RenderMultivariant(const std::vector<Rendition>& renditions,
                               bool independent_segments);

// A value printed inside the quotes of an attribute: no '"', no control
// character, printable ASCII or UTF-8. `what` names it in the message.
Status ValidateQuoted(std::string_view what, std::string_view value);

// What a media playlist has measured so far (hlsbridge_playlist_stats).
struct MeasuredRates {
  bool published = false;  // the playlist exists (one write succeeded)
  uint64_t peak = 0;       // peak segment bit rate, bits/s; 0 unknown
  uint64_t average = 0;    // average segment bit rate, bits/s; 0 unknown
};

struct RenditionInput {
  Rendition rendition;          // uri unencoded; bandwidths are filled here
  uint64_t declared_bandwidth = 0;  // from the streams' declared rates
  std::string playlist_path;    // gives the URI when rendition.uri is empty
  std::function<MeasuredRates()> measure;  // required
};

struct MultivariantOptions {
  std::string path;  // required
  bool fsync_file = true;
  bool fsync_dir = true;
  bool independent_segments = false;
  Env* env = nullptr;  // nullptr: Env::Default(); not owned
  // nullptr: the local file (fsync_file, fsync_dir); see PlaylistOptions.
  std::shared_ptr<Store> store;
  std::function<void(LogLevel, std::string_view)> log;
};

// Thread-safe. Decides when the multivariant playlist is (re)written:
//  - never before every media playlist it names exists;
//  - then once, with BANDWIDTH the larger of the declared and the measured
//    peak rate (AVERAGE-BANDWIDTH the measured average);
//  - again whenever a measured peak exceeds the published BANDWIDTH by more
//    than 10%;
//  - at the end (final), with the measured values only.
class Multivariant {
 public:
  enum class Mode {
    kIfNeeded,  // the rules above
    kRefresh,   // write the current values now (once every playlist exists)
    kFinal,     // the measured values, for the stream that has ended
  };

  static Status Open(const MultivariantOptions& options,
                     std::unique_ptr<Multivariant>* result);
  Multivariant(const Multivariant&) = delete;
  Multivariant& operator=(const Multivariant&) = delete;

  // Adds an entry; refuses bad names and URIs, an audio rendition without a
  // group, a variant naming a group that has no audio rendition (checked by
  // Update), and any Add after the first write.
  Status Add(RenditionInput input) EXCLUDES(mu_);
  // See the class comment. *written (may be null) says whether it wrote.
  Status Update(Mode mode, bool* written) EXCLUDES(mu_);
  // The text as last published ("" before).
  std::string Published() const EXCLUDES(mu_);
  const std::string& path() const { return options_.path; }

 private:
  struct Entry {
    RenditionInput input;
    uint64_t published_bandwidth = 0;
  };

  Multivariant(MultivariantOptions options, Env* env, std::shared_ptr<Store> store,
               std::string real_dir);
  Status CheckGroups() const REQUIRES(mu_);

  const MultivariantOptions options_;
  Env* const env_;
  const std::shared_ptr<Store> store_;
  const std::string real_dir_;
  mutable Mutex mu_;
  std::vector<Entry> entries_ GUARDED_BY(mu_);
  std::string published_ GUARDED_BY(mu_);
  bool final_written_ GUARDED_BY(mu_) = false;
};

}  // namespace hlsbridge

#endif  // HLSBRIDGE_SRC_MULTIVARIANT_H_
