// Playlist: the state of one HLS media playlist and its durable publication.
#ifndef HLSBRIDGE_SRC_PLAYLIST_H_
#define HLSBRIDGE_SRC_PLAYLIST_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "env.h"
#include "render.h"
#include "status.h"
#include "store.h"
#include "thread_annotations.h"

namespace hlsbridge {

enum class LogLevel { kError = 0, kWarning = 1, kInfo = 2, kDebug = 3 };

struct PlaylistOptions {
  std::string path;          // the playlist file; required
  unsigned window_size = 0;  // live window in segments; 0 keeps all
  // nullopt: window_size > 0 means live, 0 means vod.
  std::optional<PlaylistType> type;
  double target_duration = 0;  // floor of EXT-X-TARGETDURATION, seconds
  uint64_t start_sequence = 0;
  std::string base_url;
  int pdt_utc_offset_minutes = 0;
  bool fsync_file = true;
  bool fsync_dir = true;
  bool remove_stale_temp_files = true;
  bool delete_segments = false;
  // EXT-X-INDEPENDENT-SEGMENTS: every segment starts with a key frame.
  bool independent_segments = false;
  // Finish() adds no EXT-X-ENDLIST (live and event only).
  bool omit_endlist = false;
  // With delete_segments: the newest removed files kept past their hold.
  unsigned keep_removed_segments = 0;
  // Continue the playlist at `path` if there is one (ReadOwnPlaylist):
  // its segments, sequences and target duration become the state; the next
  // segment added follows them. start_sequence is then unused.
  bool resume = false;
  // With resume: continue a playlist that has EXT-X-ENDLIST (the tag goes).
  bool resume_ended = false;
  Env* env = nullptr;  // nullptr: Env::Default(); not owned
  // Where the playlist and its files are published; nullptr: the local
  // files themselves (a LocalStore with fsync_file and fsync_dir). With a
  // remote store `path` and the file paths are a local spool's.
  std::shared_ptr<Store> store;
  // Called without any lock of ours held, from the calling thread or a
  // Publisher's thread, so it may call back into the Playlist.
  std::function<void(LogLevel, std::string_view)> log;
};

struct SegmentInput {
  std::string_view uri;
  double duration = 0;  // seconds
  std::optional<int64_t> program_date_time_ms;
  bool discontinuity = false;
  std::string_view file_path;  // deleted when delete_segments; may be empty
  uint64_t size_bytes = 0;  // the segment's size; 0: unknown (not measured)
};

// The EXT-X-KEY of the segments that follow: AES-128 with the key at `uri`
// and `iv`, or none (METHOD=NONE) when `uri` is empty.
struct KeyInput {
  std::string uri;
  uint8_t iv[16] = {};
  // The key file on the local file system (the Publisher makes it durable
  // before a playlist names it); may be empty. Never deleted.
  std::string file_path;
};

// What Open() continued (PlaylistOptions::resume).
struct ResumeInfo {
  bool resumed = false;        // an existing playlist was read
  size_t segments = 0;         // segments it listed
  uint64_t next_media_sequence = 0;
  uint64_t discontinuity_sequence = 0;
  uint64_t target_duration = 0;
  bool was_ended = false;      // it had EXT-X-ENDLIST
  std::string last_uri;        // its last segment's URI as printed ("" if none)
  std::string map_uri;         // the EXT-X-MAP in force at its end ("" if none)
  std::string map_file;        // its local file ("" if none or not local)
  // Program date-time at the end of its last segment, when that has one.
  std::optional<int64_t> pdt_end_ms;
  bool key_in_force = false;   // an AES-128 key applies to its last segment
};

struct ReadPlaylist;

struct PlaylistStats {
  uint64_t writes_ok = 0;
  uint64_t writes_failed = 0;
  int64_t last_write_latency_us = 0;
  int64_t last_success_unix_ms = 0;
  uint64_t media_sequence = 0;
  uint64_t discontinuity_sequence = 0;
  uint64_t target_duration = 0;
  unsigned segment_count = 0;
  unsigned pending_deletions = 0;
  uint64_t files_deleted = 0;
  bool finished = false;
  // Over the segments added with a size: the largest and the average
  // segment bit rate (RFC 8216 4.3.4.2), bits per second, rounded up.
  uint64_t peak_bitrate = 0;
  uint64_t average_bitrate = 0;
};

// Thread-safe: every method may be called from any thread at once.
class Playlist {
 public:
  // Validates the options, creates the directory, removes stale temp files of
  // ours. Writes nothing.
  static Status Open(const PlaylistOptions& options,
                     std::unique_ptr<Playlist>* result);

  Playlist(const Playlist&) = delete;
  Playlist& operator=(const Playlist&) = delete;
  ~Playlist();

  // For a segment file name: refuses an empty path or one with a control
  // character, creates its directory when missing and checks that files can
  // be created there. Errors name the path and the cause.
  Status PrepareDirectory(const std::string& file_path) const;
  // The URI of a segment file relative to the playlist: its directory
  // relative to the playlist's (both resolved, symbolic links included),
  // then its name, e.g. "../seg/index3.ts". The directory must exist.
  Status UriForFile(const std::string& file_path, std::string* uri) const;
  // Checks a segment as AddSegment() would, without adding it: URI,
  // duration, date-time, file path, and that the playlist is not finished.
  // On success *encoded_uri holds the URI as it will be printed.
  Status CheckSegment(const SegmentInput& segment,
                      std::string* encoded_uri) const EXCLUDES(mu_);
  // Validates and appends a segment; slides a live window (never below three
  // target durations, RFC 8216 6.2.2). No I/O.
  Status AddSegment(const SegmentInput& segment) EXCLUDES(mu_);
  // The media initialization section (fMP4's init file, EXT-X-MAP) of the
  // segments added from now on. `uri` is checked and encoded as a segment's;
  // `file_path` (may be empty) is deleted with delete_segments once no
  // segment that needs it is listed or held (RFC 8216 6.2.2) and a newer map
  // has replaced it. No I/O.
  Status SetMap(std::string_view uri, std::string_view file_path)
      EXCLUDES(mu_);
  // Checks a map as SetMap() would, without setting it.
  Status CheckMap(std::string_view uri, std::string_view file_path,
                  std::string* encoded_uri) const EXCLUDES(mu_);
  // The key (EXT-X-KEY) of the segments added from now on. The URI is
  // printed as given (ValidateKeyUri). No I/O.
  Status SetKey(const KeyInput& key) EXCLUDES(mu_);
  // Checks a key as SetKey() would, without setting it.
  Status CheckKey(const KeyInput& key) const EXCLUDES(mu_);
  // Publishes the current state atomically (see WriteFileAtomically). Writes
  // are serialized and each renders the state as of its turn, so a newer
  // state is never overwritten by an older one.
  Status Write() EXCLUDES(mu_, write_mu_);
  // Adds EXT-X-ENDLIST (live, event) and writes. Idempotent.
  Status Finish() EXCLUDES(mu_, write_mu_);
  // See hlsbridge_playlist_delete_expired. Returns the files still pending.
  int DeleteExpired(bool wait) EXCLUDES(mu_, write_mu_);

  PlaylistStats GetStats() const EXCLUDES(mu_);
  const ResumeInfo& resume_info() const { return resume_info_; }
  // The text that Write() would publish now.
  std::string RenderNow() const EXCLUDES(mu_);
  const std::string& path() const { return options_.path; }
  Env* env() const { return env_; }
  Store* store() const { return store_.get(); }
  // Sends a line to the log sink of the options (if any), with no lock held.
  void Log(LogLevel level, std::string_view message) const;

 private:
  // An init section; shared by the segments that need it, so that its file
  // goes once the last of them has.
  struct Map {
    std::string uri;  // as printed
    std::string file_path;
  };
  struct Entry {
    uint64_t sequence;  // media sequence number of this segment
    RenderedSegment rendered;
    double duration;
    std::string file_path;
    std::shared_ptr<const Map> map;
    // Longest published playlist (seconds) that listed this segment.
    double longest_playlist = 0;
  };
  struct PendingDeletion {
    std::string file_path;
    std::shared_ptr<const Map> map;  // released once the file is deleted
    uint64_t sequence;
    double duration;
    double longest_playlist;      // grows if an older snapshot lands late
    uint64_t removed_in_version;  // first state version that omits it
    std::optional<int64_t> deadline_us;  // set once such a state is published
  };

  // A file whose deletion failed in a way that may heal; tried again at
  // next_us (see DeleteDueFiles()).
  struct FailedDeletion {
    std::string file_path;
    int64_t next_us;
    int attempts;
  };
  static constexpr int kDeleteAttempts = 6;

  Playlist(PlaylistOptions options, PlaylistType type, Env* env,
           std::shared_ptr<Store> store, std::string real_dir);
  // The state of a playlist read back (PlaylistOptions::resume), before any
  // other call.
  void Resume(const ReadPlaylist& read) EXCLUDES(mu_, write_mu_);
  // The local file of a segment URI read back: relative to the playlist's
  // directory (after the base URL), percent-decoded; "" for another URL.
  std::string FileOfUri(std::string_view uri) const;

  // Log lines gathered under write_mu_ and emitted after it is released.
  using LogLines = std::vector<std::pair<LogLevel, std::string>>;

  // The state as of now, with the segments of sequence >= first_sequence
  // only (0: all of them).
  Snapshot SnapshotLocked(uint64_t first_sequence = 0) const REQUIRES(mu_);
  void Emit(const LogLines& lines) const;
  // "<playlist>: segment "<uri>": <why>", as InvalidArgument.
  Status SegmentRefused(std::string_view uri, const std::string& why) const;
  // After a successful publish of `snap`: start hold timers, note playlist
  // lengths for the segments it listed.
  void NotePublished(const Snapshot& snap, size_t segment_count,
                     int64_t window_ms, int64_t now_us) REQUIRES(mu_);
  // The files of replaced maps that no segment listed or held needs any
  // more, taken out of retired_maps_.
  std::vector<std::string> TakeUnusedMapFiles() REQUIRES(mu_);
  // Removes files whose hold time has passed. Called with write_mu_ held so
  // deletions never overtake a publish.
  void DeleteDueFiles(int64_t now_us, LogLines* lines) REQUIRES(write_mu_)
      EXCLUDES(mu_);
  // The failed deletions due for another try at now_us, taken out.
  std::vector<FailedDeletion> TakeDueRetries(int64_t now_us) EXCLUDES(mu_);
  // Deletes d's file through the store; a failure is logged and, when it may
  // heal, d goes back to failed_deletions_. True when deleted.
  bool DeleteOne(FailedDeletion* d, int64_t now_us, LogLines* lines)
      REQUIRES(write_mu_) EXCLUDES(mu_);
  Status WriteLocked(LogLines* lines) REQUIRES(write_mu_) EXCLUDES(mu_);

  const PlaylistOptions options_;
  const PlaylistType type_;
  Env* const env_;
  const std::shared_ptr<Store> store_;
  const std::string real_dir_;  // the playlist's directory, canonical
  ResumeInfo resume_info_;  // set by Resume(), before the handle is shared
  const uint64_t floor_target_duration_;
  // Event and VOD playlists only grow: the lines of the segments printed so
  // far are kept and only new segments are rendered at each write. A live
  // window is rendered whole (it is small, and its first lines change).
  const bool append_only_;

  // Serializes publications (file I/O); never held while waiting for mu_
  // is avoided: lock order is write_mu_ then mu_.
  Mutex write_mu_;
  std::string body_ GUARDED_BY(write_mu_);  // see append_only_
  uint64_t body_end_sequence_ GUARDED_BY(write_mu_);  // first not in body_
  RenderState body_state_ GUARDED_BY(write_mu_);  // map and key at its end
  mutable Mutex mu_;
  std::deque<Entry> entries_ GUARDED_BY(mu_);
  std::vector<PendingDeletion> pending_ GUARDED_BY(mu_);
  std::vector<FailedDeletion> failed_deletions_ GUARDED_BY(mu_);
  std::shared_ptr<const Map> map_ GUARDED_BY(mu_);  // of the next segment
  std::string key_ GUARDED_BY(mu_);  // KeyAttributes() of the next segment
  // Replaced maps whose file is still to be deleted (delete_segments).
  std::vector<std::shared_ptr<const Map>> retired_maps_ GUARDED_BY(mu_);
  bool map_used_ GUARDED_BY(mu_) = false;  // a segment with a map was added
  uint64_t version_ GUARDED_BY(mu_) = 0;
  uint64_t media_sequence_ GUARDED_BY(mu_);
  uint64_t next_sequence_ GUARDED_BY(mu_);
  uint64_t discontinuity_sequence_ GUARDED_BY(mu_) = 0;
  uint64_t target_duration_ GUARDED_BY(mu_);
  uint64_t published_target_duration_ GUARDED_BY(mu_) = 0;
  double timeline_seconds_ GUARDED_BY(mu_) = 0;  // end of the last segment
  double peak_bitrate_ GUARDED_BY(mu_) = 0;  // bits/s, see PlaylistStats
  double sized_bytes_ GUARDED_BY(mu_) = 0;    // of the segments with a size
  double sized_seconds_ GUARDED_BY(mu_) = 0;
  int64_t window_ms_ GUARDED_BY(mu_) = 0;  // printed duration of entries_
  bool window_widened_ GUARDED_BY(mu_) = false;  // told the user once
  bool finished_ GUARDED_BY(mu_) = false;
  uint64_t writes_ok_ GUARDED_BY(mu_) = 0;
  uint64_t writes_failed_ GUARDED_BY(mu_) = 0;
  uint64_t files_deleted_ GUARDED_BY(mu_) = 0;
  int64_t last_latency_us_ GUARDED_BY(mu_) = 0;
  int64_t last_success_unix_ms_ GUARDED_BY(mu_) = 0;
};

}  // namespace hlsbridge

#endif  // HLSBRIDGE_SRC_PLAYLIST_H_
