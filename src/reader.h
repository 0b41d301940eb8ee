// Reader: a strict parser of the media playlists this library writes
// (render.h), for continuing one after a restart. It accepts what Render()
// prints and refuses anything else (another packager's playlist, a damaged
// or truncated file) with a message naming the file, the line and the cause,
// so that a stream is never continued from a state that was misread.
#ifndef HLSBRIDGE_SRC_READER_H_
#define HLSBRIDGE_SRC_READER_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "status.h"

namespace hlsbridge {

struct ReadSegment {
  std::string uri;          // as printed (percent-encoded, base URL included)
  int64_t duration_ms = 0;  // the printed EXTINF
  bool discontinuity = false;
  std::optional<int64_t> program_date_time_ms;
  std::string map_uri;      // the EXT-X-MAP in force ("" for none), as printed
  std::string key;          // the EXT-X-KEY attributes in force ("" for none)
};

struct ReadPlaylist {
  int version = 0;
  bool independent_segments = false;
  uint64_t media_sequence = 0;
  uint64_t discontinuity_sequence = 0;
  uint64_t target_duration = 0;
  bool event = false;  // EXT-X-PLAYLIST-TYPE:EVENT
  bool ended = false;  // EXT-X-ENDLIST
  std::vector<ReadSegment> segments;
};

// Parses `text`, the contents of the file `name` (for messages:
// "<name>:<line>: <cause>"). Refuses: a missing or misplaced header tag, a
// repeated one (a second EXT-X-MEDIA-SEQUENCE, say), a tag or attribute this
// library does not write, an EXTINF that is not "<seconds>.<3 digits>," or
// exceeds the target duration, an EXTINF without its URI line, a URI or tag
// after EXT-X-ENDLIST, a control character, a blank line, a file that does
// not end with a newline (truncated), a version that does not match the
// tags, and a sequence number that would overflow.
Status ReadOwnPlaylist(std::string_view text, std::string_view name,
                       ReadPlaylist* out);

// Unix milliseconds of an EXT-X-PROGRAM-DATE-TIME value as
// FormatProgramDateTime() prints it ("2026-11-24T05:41:50.284Z" or with
// "+01:00"); nullopt for anything else.
std::optional<int64_t> ParseProgramDateTime(std::string_view text);

}  // namespace hlsbridge

#endif  // HLSBRIDGE_SRC_READER_H_
