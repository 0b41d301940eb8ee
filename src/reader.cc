#include "reader.h"

#include <limits>

namespace hlsbridge {

namespace {

constexpr uint64_t kMaxSequence = std::numeric_limits<uint64_t>::max() / 2;

bool ParseUint(std::string_view s, uint64_t* out) {
  if (s.empty() || s.size() > 20 || (s.size() > 1 && s[0] == '0')) return false;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    const uint64_t d = static_cast<uint64_t>(c - '0');
    if (v > (std::numeric_limits<uint64_t>::max() - d) / 10) return false;
    v = v * 10 + d;
  }
  *out = v;
  return true;
}

// Exactly `n` decimal digits.
bool ParseFixed(std::string_view s, size_t n, int64_t* out) {
  if (s.size() != n) return false;
  int64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  *out = v;
  return true;
}

// Days since 1970-01-01 of a proleptic Gregorian date (the inverse of the
// renderer's conversion), for years 0..9999.
int64_t DaysFromCivil(int64_t y, int64_t m, int64_t d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

bool IsLeap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int DaysInMonth(int64_t y, int64_t m) {
  static const int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && IsLeap(y) ? 29 : kDays[m - 1];
}

// "<seconds>.<three digits>" as milliseconds.
bool ParseMillis(std::string_view s, int64_t* out) {
  const size_t dot = s.find('.');
  uint64_t whole;
  int64_t frac;
  if (dot == std::string_view::npos || !ParseUint(s.substr(0, dot), &whole) ||
      whole > 1000000 || !ParseFixed(s.substr(dot + 1), 3, &frac)) {
    return false;
  }
  *out = static_cast<int64_t>(whole) * 1000 + frac;
  return true;
}

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

// A printed URI: not empty, not a tag, printable ASCII only (EncodeUri
// percent-encodes everything else).
bool IsUriLine(std::string_view s) {
  if (s.empty() || s[0] == '#') return false;
  for (unsigned char c : s) {
    if (c <= 0x20 || c >= 0x7f) return false;
  }
  return true;
}

// The state of one ReadOwnPlaylist() call: the header tags come first, in
// the order Render() prints them, then the segments.
class Parser {
 public:
  Parser(std::string_view name, ReadPlaylist* out) : name_(name), out_(out) {}

  Status Line(std::string_view line) {
    ++number_;
    for (unsigned char c : line) {
      if (c < 0x20 || c == 0x7f) return Error("control character in the line");
    }
    if (line.empty()) return Error("blank line");
    if (out_->ended) return Error("text after EXT-X-ENDLIST");
    if (step_ < kSegments) return Header(line);
    return Body(line);
  }

  Status Finish() {
    ++number_;
    if (step_ < kSegments) return Error("the header is incomplete (truncated file)");
    if (pending_) return Error("EXTINF without its URI line (truncated file)");
    const bool has_map = !map_uri_.empty() || any_map_;
    if ((out_->version == 6) != has_map) {
      return Error("EXT-X-VERSION:" + std::to_string(out_->version) +
                   (has_map ? " with EXT-X-MAP (needs 6)" : " without EXT-X-MAP (needs 3)"));
    }
    if (out_->media_sequence + out_->segments.size() > kMaxSequence) {
      return Error("media sequence out of range");
    }
    return Status::OK();
  }

  Status Error(const std::string& why) const {
    return Status::InvalidArgument(std::string(name_) + ":" + std::to_string(number_) +
                                   ": " + why);
  }

 private:
  enum Step { kStart, kVersion, kIndependent, kMediaSequence, kTarget, kSegments };

  // EXTM3U, VERSION, [INDEPENDENT-SEGMENTS], MEDIA-SEQUENCE, TARGETDURATION,
  // then [DISCONTINUITY-SEQUENCE] and [PLAYLIST-TYPE:EVENT] before the first
  // segment (handled in Body()).
  Status Header(std::string_view line) {
    uint64_t v;
    switch (step_) {
      case kStart:
        if (line != "#EXTM3U") return Error("not a playlist: the first line is not #EXTM3U");
        step_ = kVersion;
        return Status::OK();
      case kVersion:
        if (line != "#EXT-X-VERSION:3" && line != "#EXT-X-VERSION:6") {
          return Error("expected #EXT-X-VERSION:3 or 6");
        }
        out_->version = line.back() - '0';
        step_ = kIndependent;
        return Status::OK();
      case kIndependent:
        step_ = kMediaSequence;
        if (line == "#EXT-X-INDEPENDENT-SEGMENTS") {
          out_->independent_segments = true;
          return Status::OK();
        }
        return Header(line);
      case kMediaSequence:
        if (!StartsWith(line, "#EXT-X-MEDIA-SEQUENCE:") || !ParseUint(line.substr(22), &v) ||
            v > kMaxSequence) {
          return Error("expected #EXT-X-MEDIA-SEQUENCE:<number>");
        }
        out_->media_sequence = v;
        step_ = kTarget;
        return Status::OK();
      default:
        if (!StartsWith(line, "#EXT-X-TARGETDURATION:") || !ParseUint(line.substr(22), &v) ||
            v == 0 || v > 1000000) {
          return Error("expected #EXT-X-TARGETDURATION:<seconds>");
        }
        out_->target_duration = v;
        step_ = kSegments;
        return Status::OK();
    }
  }

  // Tags that only the header holds, found after it.
  Status LateHeader(std::string_view line) {
    if (!out_->segments.empty() || pending_ || seen_segment_tag_) {
      return Error("header tag after the first segment: " + std::string(line));
    }
    uint64_t v;
    if (StartsWith(line, "#EXT-X-DISCONTINUITY-SEQUENCE:")) {
      if (seen_disc_seq_ || out_->event) return Error("misplaced or repeated " + std::string(line));
      if (!ParseUint(line.substr(30), &v) || v == 0 || v > kMaxSequence) {
        return Error("bad EXT-X-DISCONTINUITY-SEQUENCE");
      }
      seen_disc_seq_ = true;
      out_->discontinuity_sequence = v;
      return Status::OK();
    }
    if (out_->event) return Error("repeated EXT-X-PLAYLIST-TYPE");
    if (line != "#EXT-X-PLAYLIST-TYPE:EVENT") {
      return Error("unexpected " + std::string(line) + " (hlsbridge writes TYPE:EVENT only)");
    }
    out_->event = true;
    return Status::OK();
  }

  Status Body(std::string_view line) {
    if (pending_) return Uri(line);
    if (line == "#EXT-X-ENDLIST") {
      if (seen_segment_tag_) return Error("EXT-X-ENDLIST between a segment's tags");
      out_->ended = true;
      return Status::OK();
    }
    if (StartsWith(line, "#EXT-X-DISCONTINUITY-SEQUENCE:") ||
        StartsWith(line, "#EXT-X-PLAYLIST-TYPE:")) {
      return LateHeader(line);
    }
    if (StartsWith(line, "#EXT-X-MEDIA-SEQUENCE:")) {
      return Error("repeated EXT-X-MEDIA-SEQUENCE (the media sequence must not change within "
                   "a playlist, let alone decrease)");
    }
    if (line == "#EXT-X-DISCONTINUITY") {
      if (seen_segment_tag_) return Error("EXT-X-DISCONTINUITY out of place");
      seen_segment_tag_ = true;
      next_.discontinuity = true;
      return Status::OK();
    }
    if (StartsWith(line, "#EXT-X-MAP:URI=\"") && line.back() == '"' && line.size() > 17) {
      map_uri_ = std::string(line.substr(16, line.size() - 17));
      if (map_uri_.find('"') != std::string::npos) return Error("bad EXT-X-MAP");
      any_map_ = true;
      seen_segment_tag_ = true;
      return Status::OK();
    }
    if (StartsWith(line, "#EXT-X-KEY:")) return Key(line.substr(11));
    if (StartsWith(line, "#EXT-X-PROGRAM-DATE-TIME:")) {
      const auto ms = ParseProgramDateTime(line.substr(25));
      if (!ms || next_.program_date_time_ms) return Error("bad EXT-X-PROGRAM-DATE-TIME");
      next_.program_date_time_ms = ms;
      seen_segment_tag_ = true;
      return Status::OK();
    }
    if (StartsWith(line, "#EXTINF:")) {
      int64_t ms;
      if (line.back() != ',' || !ParseMillis(line.substr(8, line.size() - 9), &ms) || ms <= 0) {
        return Error("expected #EXTINF:<seconds>.<milliseconds>,");
      }
      if (static_cast<uint64_t>((ms + 999) / 1000) > out_->target_duration) {
        return Error("EXTINF longer than EXT-X-TARGETDURATION");
      }
      next_.duration_ms = ms;
      pending_ = true;
      return Status::OK();
    }
    if (line[0] == '#') {
      return Error("tag not written by hlsbridge: " + std::string(line.substr(0, 40)));
    }
    return Error("URI without EXTINF");
  }

  Status Key(std::string_view attrs) {
    const bool none = attrs == "METHOD=NONE";
    // METHOD=AES-128,URI="<uri>",IV=0x<32 hex digits>
    const size_t close = attrs.find("\",IV=0x");
    const bool aes = StartsWith(attrs, "METHOD=AES-128,URI=\"") && close != std::string_view::npos &&
                     close > 20 && attrs.size() == close + 7 + 32 &&
                     attrs.substr(20, close - 20).find('"') == std::string_view::npos &&
                     attrs.substr(close + 7).find_first_not_of("0123456789ABCDEF") ==
                         std::string_view::npos;
    if (!none && !aes) return Error("EXT-X-KEY not as hlsbridge writes it");
    key_ = std::string(attrs);
    seen_segment_tag_ = true;
    return Status::OK();
  }

  Status Uri(std::string_view line) {
    if (!IsUriLine(line)) return Error("expected the URI of the EXTINF before");
    next_.uri = std::string(line);
    next_.map_uri = map_uri_;
    next_.key = key_;
    out_->segments.push_back(std::move(next_));
    next_ = ReadSegment();
    pending_ = false;
    seen_segment_tag_ = false;
    return Status::OK();
  }

  const std::string_view name_;
  ReadPlaylist* const out_;
  int number_ = 0;
  Step step_ = kStart;
  ReadSegment next_;
  std::string map_uri_, key_;
  bool any_map_ = false;
  bool pending_ = false;           // an EXTINF waits for its URI
  bool seen_segment_tag_ = false;  // a tag of the next segment was read
  bool seen_disc_seq_ = false;
};

}  // namespace

std::optional<int64_t> ParseProgramDateTime(std::string_view s) {
  // YYYY-MM-DDTHH:MM:SS.mmm then Z or +hh:mm / -hh:mm
  int64_t y, mo, d, h, mi, sec, ms, oh = 0, om = 0;
  if (s.size() != 24 && s.size() != 29) return std::nullopt;
  if (s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' ||
      s[19] != '.' || !ParseFixed(s.substr(0, 4), 4, &y) || !ParseFixed(s.substr(5, 2), 2, &mo) ||
      !ParseFixed(s.substr(8, 2), 2, &d) || !ParseFixed(s.substr(11, 2), 2, &h) ||
      !ParseFixed(s.substr(14, 2), 2, &mi) || !ParseFixed(s.substr(17, 2), 2, &sec) ||
      !ParseFixed(s.substr(20, 3), 3, &ms)) {
    return std::nullopt;
  }
  int sign = 0;
  if (s.size() == 24) {
    if (s[23] != 'Z') return std::nullopt;
  } else {
    sign = s[23] == '+' ? 1 : s[23] == '-' ? -1 : 0;
    if (sign == 0 || s[26] != ':' || !ParseFixed(s.substr(24, 2), 2, &oh) ||
        !ParseFixed(s.substr(27, 2), 2, &om) || oh > 23 || om > 59 || (oh == 0 && om == 0)) {
      return std::nullopt;
    }
  }
  if (mo < 1 || mo > 12 || d < 1 || d > DaysInMonth(y, mo) || h > 23 || mi > 59 || sec > 59) {
    return std::nullopt;
  }
  const int64_t local = DaysFromCivil(y, mo, d) * 86400000 + h * 3600000 + mi * 60000 +
                        sec * 1000 + ms;
  return local - sign * (oh * 60 + om) * 60000;
}

Status ReadOwnPlaylist(std::string_view text, std::string_view name, ReadPlaylist* out) {
  ReadPlaylist result;
  Parser parser(name, &result);
  if (!text.empty() && text.back() != '\n') {
    Status s = Status::OK();
    size_t start = 0;
    while (start < text.size() && s.ok()) {
      size_t end = text.find('\n', start);
      if (end == std::string_view::npos) break;
      s = parser.Line(text.substr(start, end - start));
      start = end + 1;
    }
    if (!s.ok()) return s;
    return Status::InvalidArgument(std::string(name) +
                                   ": the last line has no newline (truncated file)");
  }
  size_t start = 0;
  while (start < text.size()) {
    const size_t end = text.find('\n', start);
    Status s = parser.Line(text.substr(start, end - start));
    if (!s.ok()) return s;
    start = end + 1;
  }
  Status s = parser.Finish();
  if (!s.ok()) return s;
  *out = std::move(result);
  return Status::OK();
}

}  // namespace hlsbridge
