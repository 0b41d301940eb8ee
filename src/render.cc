#include "render.h"

#include <algorithm>
#include <charconv>
#include <cinttypes>

namespace hlsbridge {

namespace {

void AppendUint(uint64_t v, std::string* out) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);
  (void)ec;  // 24 bytes hold any uint64_t
  out->append(buf, end);
}

void AppendDigits(int64_t v, int width, std::string* out) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);
  (void)ec;
  for (int pad = width - static_cast<int>(end - buf); pad > 0; --pad) {
    out->push_back('0');
  }
  out->append(buf, end);
}

// Days since 1970-01-01 to a proleptic Gregorian date (era arithmetic, valid
// far beyond years 0..9999).
void CivilFromDays(int64_t z, int64_t* y, int* m, int* d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const int64_t doe = z - era * 146097;                               // [0, 146096]
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;  // [0, 399]
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);        // [0, 365]
  const int64_t mp = (5 * doy + 2) / 153;                             // [0, 11]
  *d = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  *m = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  *y = yoe + era * 400 + (*m <= 2 ? 1 : 0);
}

int64_t FloorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

// 0000-01-01T00:00:00.000 and 9999-12-31T23:59:59.999, local time, in ms.
constexpr int64_t kMinLocalMs = -62167219200000;
constexpr int64_t kMaxLocalMs = 253402300799999;

bool IsUnreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
         (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
         c == '~';
}

bool IsSubDelim(unsigned char c) {
  switch (c) {
    case '!': case '$': case '&': case '\'': case '(': case ')':
    case '*': case '+': case ',': case ';': case '=':
      return true;
    default:
      return false;
  }
}

bool IsControl(unsigned char c) { return c < 0x20 || c == 0x7f; }

constexpr char kHex[] = "0123456789ABCDEF";

// "0x0A": how error messages name a byte that is not allowed.
std::string HexByte(unsigned char c) {
  return std::string{'0', 'x', kHex[c >> 4], kHex[c & 15]};
}

// Length of a "scheme://" prefix (RFC 3986 3.1), or 0.
size_t SchemePrefixLength(std::string_view s) {
  if (s.empty() || !((s[0] >= 'A' && s[0] <= 'Z') || (s[0] >= 'a' && s[0] <= 'z'))) {
    return 0;
  }
  size_t i = 1;
  while (i < s.size()) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == ':') break;
    const bool scheme_char = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                             (c >= '0' && c <= '9') || c == '+' || c == '-' ||
                             c == '.';
    if (!scheme_char) return 0;
    ++i;
  }
  if (s.substr(i, 3) != "://") return 0;
  return i + 3;
}

// "6.000" from 6000.
void AppendMillisAsSeconds(int64_t ms, std::string* out) {
  if (ms < 0) {
    out->push_back('-');
    ms = -ms;
  }
  AppendUint(static_cast<uint64_t>(ms / 1000), out);
  out->push_back('.');
  AppendDigits(ms % 1000, 3, out);
}

}  // namespace

Status ValidateProgramDateTime(int64_t unix_ms, int utc_offset_minutes) {
  // Bound unix_ms first: adding the offset to an arbitrary value overflows.
  if (unix_ms >= kMinLocalMs - 86400000 && unix_ms <= kMaxLocalMs + 86400000) {
    const int64_t local = unix_ms + int64_t{utc_offset_minutes} * 60000;
    if (local >= kMinLocalMs && local <= kMaxLocalMs) return Status::OK();
  }
  return Status::InvalidArgument("program date-time " +
                                 std::to_string(unix_ms) +
                                 " ms is outside the years 0000..9999");
}

std::string FormatProgramDateTime(int64_t unix_ms, int utc_offset_minutes) {
  std::string out;
  AppendProgramDateTime(unix_ms, utc_offset_minutes, &out);
  return out;
}

void AppendProgramDateTime(int64_t unix_ms, int utc_offset_minutes,
                           std::string* out_ptr) {
  std::string& out = *out_ptr;
  const int64_t local = unix_ms + int64_t{utc_offset_minutes} * 60000;
  const int64_t days = FloorDiv(local, 86400000);
  const int64_t ms_of_day = local - days * 86400000;
  int64_t year;
  int month, day;
  CivilFromDays(days, &year, &month, &day);

  AppendDigits(year, 4, &out);
  out.push_back('-');
  AppendDigits(month, 2, &out);
  out.push_back('-');
  AppendDigits(day, 2, &out);
  out.push_back('T');
  AppendDigits(ms_of_day / 3600000, 2, &out);
  out.push_back(':');
  AppendDigits(ms_of_day / 60000 % 60, 2, &out);
  out.push_back(':');
  AppendDigits(ms_of_day / 1000 % 60, 2, &out);
  out.push_back('.');
  AppendDigits(ms_of_day % 1000, 3, &out);
  if (utc_offset_minutes == 0) {
    out.push_back('Z');
  } else {
    int off = utc_offset_minutes;
    out.push_back(off < 0 ? '-' : '+');
    if (off < 0) off = -off;
    AppendDigits(off / 60, 2, &out);
    out.push_back(':');
    AppendDigits(off % 60, 2, &out);
  }
}

Status EncodeUri(std::string_view name, std::string* out) {
  if (name.empty()) return Status::InvalidArgument("segment URI is empty");
  for (unsigned char c : name) {
    if (IsControl(c)) {
      return Status::InvalidArgument(
          "segment URI contains control character " + HexByte(c) +
          (c == '\n' || c == '\r' ? " (a line break would inject a playlist tag)"
                                  : ""));
    }
  }
  out->clear();
  out->reserve(name.size() + 8);
  const size_t scheme = SchemePrefixLength(name);
  out->append(name.substr(0, scheme));
  // In a relative reference a ':' before the first '/' would be read as the
  // end of a scheme (RFC 3986 4.2), so it is encoded there.
  bool in_first_segment = scheme == 0;
  for (size_t i = scheme; i < name.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(name[i]);
    if (c == '/') in_first_segment = false;
    const bool keep = IsUnreserved(c) || IsSubDelim(c) || c == '/' ||
                      c == '@' || (c == ':' && !in_first_segment);
    if (keep) {
      out->push_back(static_cast<char>(c));
    } else {
      out->push_back('%');
      out->push_back(kHex[c >> 4]);
      out->push_back(kHex[c & 15]);
    }
  }
  return Status::OK();
}

Status ValidateBaseUrl(std::string_view base_url) {
  // Printed verbatim in front of every URI line, so it must already be a
  // valid URI prefix: ASCII characters that RFC 3986 allows, '%' included
  // (the caller encodes it). No '?' or '#': the segment name would land in a
  // query or fragment instead of the path.
  // '[' and ']' only inside the authority, for an IP-literal host
  // (RFC 3986 3.2.2), e.g. "http://[::1]:8080/live/".
  const size_t host_begin = SchemePrefixLength(base_url);
  const size_t host_end =
      host_begin == 0 ? 0 : std::min(base_url.find('/', host_begin), base_url.size());
  for (size_t i = 0; i < base_url.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(base_url[i]);
    const bool in_host = i >= host_begin && i < host_end;
    const bool allowed = IsUnreserved(c) || IsSubDelim(c) || c == '%' ||
                         c == ':' || c == '/' || c == '@' ||
                         ((c == '[' || c == ']') && in_host);
    if (!allowed) {
      return Status::InvalidArgument(
          "base URL contains " + HexByte(c) +
          ", which is not allowed in a URI (percent-encode it)");
    }
  }
  return Status::OK();
}

namespace {

constexpr std::string_view kNoKey = "METHOD=NONE";

void AppendKey(std::string_view key, RenderState* state, std::string* out) {
  out->append("#EXT-X-KEY:");
  out->append(key);
  out->push_back('\n');
  state->key = key;
}

}  // namespace

std::string KeyAttributes(std::string_view uri, const uint8_t (&iv)[16]) {
  if (uri.empty()) return std::string(kNoKey);
  std::string out = "METHOD=AES-128,URI=\"";
  out.append(uri);
  out.append("\",IV=0x");
  for (uint8_t b : iv) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 15]);
  }
  return out;
}

Status ValidateKeyUri(std::string_view uri) {
  if (uri.empty()) return Status::InvalidArgument("key URI is empty");
  for (unsigned char c : uri) {
    if (c == '"' || c == '\n' || c == '\r') {
      return Status::InvalidArgument(
          "key URI contains " + HexByte(c) +
          ", which cannot be written inside the quotes of EXT-X-KEY");
    }
    // A URI is printable ASCII (RFC 3986); anything else is percent-encoded.
    if (c <= 0x20 || c >= 0x7f) {
      return Status::InvalidArgument("key URI contains " + HexByte(c) +
                                     ", which is not allowed in a URI (percent-encode it)");
    }
  }
  return Status::OK();
}

void AppendSegmentLines(const RenderedSegment& seg, int pdt_offset,
                        RenderState* state, std::string* out) {
  if (seg.discontinuity) out->append("#EXT-X-DISCONTINUITY\n");
  // RFC 8216 4.3.2.5: a map applies to every segment after it until the next
  // one, so it is printed where it changes (and at the top). EncodeUri has
  // percent-encoded any '"', so the quoted string cannot be broken out of.
  if (seg.map_uri != state->map_uri) {
    if (!seg.map_uri.empty()) {
      if (!state->key.empty() && state->key != kNoKey) AppendKey(kNoKey, state, out);
      out->append("#EXT-X-MAP:URI=\"");
      out->append(seg.map_uri);
      out->append("\"\n");
    }
    state->map_uri = seg.map_uri;
  }
  // A key applies to every segment after it until the next one (4.3.2.4).
  if (seg.key != state->key) AppendKey(seg.key, state, out);
  if (seg.program_date_time_ms) {
    out->append("#EXT-X-PROGRAM-DATE-TIME:");
    AppendProgramDateTime(*seg.program_date_time_ms, pdt_offset, out);
    out->push_back('\n');
  }
  out->append("#EXTINF:");
  AppendMillisAsSeconds(seg.end_ms - seg.start_ms, out);
  out->append(",\n");
  out->append(seg.uri);
  out->push_back('\n');
}

std::string RenderHeader(const Snapshot& snap) {
  std::string out;
  out.reserve(160);
  // RFC 8216 7: floating-point EXTINF values need version 3, EXT-X-MAP in a
  // playlist that is not I-frames only needs 6.
  out.append(snap.has_map ? "#EXTM3U\n#EXT-X-VERSION:6\n"
                          : "#EXTM3U\n#EXT-X-VERSION:3\n");
  // Every segment starts with a key frame of the reference stream, so each
  // can be decoded without the one before it (RFC 8216 4.3.5.1).
  if (snap.independent_segments) out.append("#EXT-X-INDEPENDENT-SEGMENTS\n");
  out.append("#EXT-X-MEDIA-SEQUENCE:");
  AppendUint(snap.media_sequence, &out);
  out.append("\n#EXT-X-TARGETDURATION:");
  AppendUint(snap.target_duration, &out);
  out.push_back('\n');
  // RFC 8216 4.3.3.3: needed once a discontinuity has left a live window, so
  // a client can match discontinuities across playlist reloads.
  if (snap.discontinuity_sequence > 0) {
    out.append("#EXT-X-DISCONTINUITY-SEQUENCE:");
    AppendUint(snap.discontinuity_sequence, &out);
    out.push_back('\n');
  }
  // EVENT tells a client that segments are only ever appended. VOD playlists
  // carry no PLAYLIST-TYPE: they are rewritten (with ENDLIST) after every
  // segment, so the "never changes" promise of TYPE:VOD would be false.
  if (snap.type == PlaylistType::kEvent) {
    out.append("#EXT-X-PLAYLIST-TYPE:EVENT\n");
  }
  return out;
}

std::string_view RenderFooter(const Snapshot& snap) {
  return snap.ended ? "#EXT-X-ENDLIST\n" : "";
}

std::string Render(const Snapshot& snap) {
  std::string out = RenderHeader(snap);
  // About 60 bytes per segment plus the URI; one allocation in the usual case.
  size_t estimate = out.size() + 16;
  for (const RenderedSegment& seg : snap.segments) {
    estimate += 64 + seg.uri.size() + (seg.program_date_time_ms ? 56 : 0);
  }
  out.reserve(estimate);
  RenderState state;
  for (const RenderedSegment& seg : snap.segments) {
    AppendSegmentLines(seg, snap.pdt_utc_offset_minutes, &state, &out);
  }
  out.append(RenderFooter(snap));
  return out;
}

}  // namespace hlsbridge
