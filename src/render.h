// Pure rendering of a playlist snapshot to RFC 8216 text. No I/O, no locks.
#ifndef HLSBRIDGE_SRC_RENDER_H_
#define HLSBRIDGE_SRC_RENDER_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "status.h"

namespace hlsbridge {

enum class PlaylistType { kLive, kEvent, kVod };

// One segment as it will be printed.
struct RenderedSegment {
  std::string uri;  // already encoded and prefixed with the base URL
  // Start and end on the stream's timeline, rounded to milliseconds; the
  // EXTINF is end_ms - start_ms, so printed durations never drift.
  int64_t start_ms = 0;
  int64_t end_ms = 0;
  std::optional<int64_t> program_date_time_ms;
  bool discontinuity = false;
  // URI of its media initialization section (EXT-X-MAP, fMP4), encoded and
  // prefixed like `uri`; empty for a segment that needs none (MPEG-TS).
  std::string map_uri;
  // Attributes of the EXT-X-KEY that applies to it (KeyAttributes()); empty
  // while no key was ever set.
  std::string key;
};

// Where a run of AppendSegmentLines() stands: the map and key in force
// after the lines so far ("" at the top of a playlist).
struct RenderState {
  std::string map_uri;
  std::string key;
};

struct Snapshot {
  uint64_t version = 0;  // increases with every change of the state
  PlaylistType type = PlaylistType::kLive;
  uint64_t media_sequence = 0;
  uint64_t discontinuity_sequence = 0;
  uint64_t target_duration = 0;
  bool ended = false;  // EXT-X-ENDLIST
  // Some segment of the playlist (not only of `segments`, for a writer that
  // renders an append-only playlist in parts) has an EXT-X-MAP.
  bool has_map = false;
  bool independent_segments = false;  // EXT-X-INDEPENDENT-SEGMENTS
  int pdt_utc_offset_minutes = 0;
  std::vector<RenderedSegment> segments;
};

// The whole playlist, LF-terminated lines.
std::string Render(const Snapshot& snapshot);

// Render() in parts, for a writer that keeps the segment lines of an
// append-only playlist between writes. Render(s) is RenderHeader(s), then
// AppendSegmentLines() of each segment, then RenderFooter(s); the header and
// footer do not read s.segments. EXT-X-MAP and EXT-X-KEY are printed where
// the segment's differ from *state, which follows. Init sections are never
// encrypted: a new EXT-X-MAP while a key is in force follows an
// EXT-X-KEY:METHOD=NONE (a key applies to the maps after it, RFC 8216
// 4.3.2.4), and the segment's key is printed again after it.
std::string RenderHeader(const Snapshot& snapshot);
void AppendSegmentLines(const RenderedSegment& segment,
                        int pdt_utc_offset_minutes, RenderState* state,
                        std::string* out);

// The attribute list of an EXT-X-KEY: METHOD=NONE for an empty URI, else
// METHOD=AES-128,URI="<uri>",IV=0x<32 hex digits>.
std::string KeyAttributes(std::string_view uri, const uint8_t (&iv)[16]);
// A key URI is printed as it is inside quotes: refuses an empty one, a '"',
// control characters (a CR or LF would inject a tag) and anything else that
// is not printable ASCII (RFC 3986). Messages name the byte, not the URI.
Status ValidateKeyUri(std::string_view uri);
std::string_view RenderFooter(const Snapshot& snapshot);

// RFC 3339 with milliseconds and a zone with a colon:
// "2026-11-24T05:41:50.284Z", "2026-11-24T06:41:50.284+01:00".
// Requires the local date to lie in years 0000..9999
// (ValidateProgramDateTime).
std::string FormatProgramDateTime(int64_t unix_ms, int utc_offset_minutes);
void AppendProgramDateTime(int64_t unix_ms, int utc_offset_minutes,
                           std::string* out);
// OK when FormatProgramDateTime can print it.
Status ValidateProgramDateTime(int64_t unix_ms, int utc_offset_minutes);

// Turns a segment name into a URI reference (RFC 3986): octets that may not
// appear in one, and '%', '#', '?', are percent-encoded; a ':' that would
// make a relative reference look like a scheme is encoded too, while an
// absolute "scheme://" prefix is kept. Refuses control characters (a CR or
// LF would inject a tag) and an empty name.
Status EncodeUri(std::string_view name, std::string* out);
// Checks a base URL that is prefixed verbatim: only the ASCII characters
// that RFC 3986 allows in a URI path prefix (no control characters, spaces,
// quotes, raw non-ASCII bytes, '?' or '#').
Status ValidateBaseUrl(std::string_view base_url);

}  // namespace hlsbridge

#endif  // HLSBRIDGE_SRC_RENDER_H_
