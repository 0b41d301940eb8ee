// libFuzzer target over the C API: random options, URIs, durations (NaN,
// infinities, huge, tiny), date-times and call orders, and the ladder's
// parsers (var_stream_map, codec extradata), and the reader of our own
// playlists behind resume. It must never crash or
// leak, and every playlist it manages to publish must be valid: checked here
// after each successful write, with __builtin_trap() on any violation.
#include <stdlib.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "hlsbridge/hlsbridge.h"
#include "test_util.h"

namespace {

class Input {
 public:
  Input(const uint8_t* data, size_t size) : p_(data), left_(size) {}
  bool empty() const { return left_ == 0; }
  uint8_t Byte() {
    if (left_ == 0) return 0;
    --left_;
    return *p_++;
  }
  template <typename T>
  T Raw() {
    T v{};
    uint8_t buf[sizeof(T)] = {};
    for (size_t i = 0; i < sizeof(T); ++i) buf[i] = Byte();
    std::memcpy(&v, buf, sizeof(T));
    return v;
  }
  std::string String(size_t max) {
    size_t n = Byte() % (max + 1);
    std::string s;
    while (n-- > 0 && left_ > 0) s.push_back(static_cast<char>(Byte()));
    return s;
  }

 private:
  const uint8_t* p_;
  size_t left_;
};

// A directory of its own for the whole run, removed when the process exits.
const std::string& ScratchPath() {
  static const hlsbridge::testing::ScratchDir scratch;
  return scratch.path();
}

void Check(bool ok) {
  if (!ok) __builtin_trap();
}

bool IsUriChar(unsigned char c) {
  if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) return true;
  return std::strchr("-._~!$&'()*+,;=:@/%", c) != nullptr && c != '\0';
}

// Validates a published playlist; returns its media sequence.
// `independent`: EXT-X-INDEPENDENT-SEGMENTS expected. A playlist whose
// segments have an init section says version 6, and EXT-X-MAP comes before
// the first of them.
uint64_t Validate(const std::string& text, uint64_t prev_seq, bool endlist_expected,
                  bool independent) {
  Check(text.rfind("#EXTM3U\n#EXT-X-VERSION:", 0) == 0);
  Check(!text.empty() && text.back() == '\n');
  std::vector<std::string> lines;
  std::stringstream ss(text);
  for (std::string line; std::getline(ss, line);) lines.push_back(line);
  Check(lines.size() >= 4);
  const bool v6 = lines[1] == "#EXT-X-VERSION:6";
  Check(v6 || lines[1] == "#EXT-X-VERSION:3");
  size_t n = 2;
  Check((lines[n] == "#EXT-X-INDEPENDENT-SEGMENTS") == independent);
  if (independent) ++n;
  Check(lines.size() >= n + 2 && lines[n].rfind("#EXT-X-MEDIA-SEQUENCE:", 0) == 0);
  const uint64_t seq = std::stoull(lines[n].substr(22));
  Check(seq >= prev_seq);
  Check(lines[n + 1].rfind("#EXT-X-TARGETDURATION:", 0) == 0);
  const uint64_t target = std::stoull(lines[n + 1].substr(22));
  size_t extinf = 0, uris = 0, maps = 0;
  bool pending_extinf = false, ended = false;
  for (size_t i = n + 2; i < lines.size(); ++i) {
    const std::string& l = lines[i];
    Check(!ended);
    for (unsigned char c : l) Check(c >= 0x20 && c != 0x7f);
    if (l.rfind("#EXTINF:", 0) == 0) {
      Check(!pending_extinf);
      Check(l.back() == ',');
      const std::string v = l.substr(8, l.size() - 9);
      const size_t dot = v.find('.');
      Check(dot != std::string::npos && v.size() - dot == 4);  // 3 decimals
      const double d = std::stod(v);
      Check(d > 0 && std::ceil(d) <= static_cast<double>(target));
      pending_extinf = true;
      ++extinf;
    } else if (l == "#EXT-X-ENDLIST") {
      ended = true;
    } else if (l.rfind("#EXT-X-KEY:", 0) == 0) {
      // METHOD=NONE, or an AES-128 key whose quoted URI holds no quote.
      Check(!pending_extinf);
      const std::string a = l.substr(11);
      if (a != "METHOD=NONE") {
        Check(a.rfind("METHOD=AES-128,URI=\"", 0) == 0);
        const size_t end = a.find('"', 20);
        Check(end != std::string::npos && end > 20 && a.substr(end, 7) == "\",IV=0x" &&
              a.size() == end + 7 + 32);
        for (size_t k = 20; k < end; ++k) Check(a[k] > 0x20 && a[k] < 0x7f);
      }
    } else if (l.rfind("#EXT-X-MAP:URI=\"", 0) == 0) {
      // A quoted URI that nothing can break out of.
      Check(!pending_extinf && l.size() > 17 && l.back() == '"');
      for (size_t k = 16; k + 1 < l.size(); ++k) {
        Check(IsUriChar(static_cast<unsigned char>(l[k])));
      }
      ++maps;
    } else if (l[0] == '#') {
      Check(l.rfind("#EXT-X-DISCONTINUITY", 0) == 0 ||
            l.rfind("#EXT-X-PROGRAM-DATE-TIME:", 0) == 0 ||
            l == "#EXT-X-PLAYLIST-TYPE:EVENT");
      if (l.rfind("#EXT-X-PROGRAM-DATE-TIME:", 0) == 0) {
        const std::string t = l.substr(25);
        Check(t.size() == 24 || t.size() == 29);
        Check(t[4] == '-' && t[10] == 'T' && t[19] == '.');
      }
    } else {
      Check(pending_extinf && !l.empty());
      for (unsigned char c : l) Check(IsUriChar(c));
      pending_extinf = false;
      ++uris;
    }
  }
  Check(!pending_extinf && extinf == uris);
  Check(maps == 0 || v6);
  Check(ended == endlist_expected);
  return seq;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

// The parsers of an ABR ladder's inputs: var_stream_map text and codec
// extradata. A parsed map names at least one stream per variant; a codec
// string is printable and fits in CODECS; a refusal says why.
void FuzzLadderInputs(Input& in) {
  const std::string text = in.String(64);
  hlsbridge_stream_map map;
  char msg[256];
  int rc = hlsbridge_stream_map_parse(text.c_str(), &map, msg, sizeof(msg));
  Check(rc == 0 || (rc == -EINVAL && msg[0] != '\0'));
  if (rc == 0) {
    Check(map.nb_variants > 0);
    for (size_t i = 0; i < map.nb_variants; i++) {
      Check(map.variants[i].nb_streams > 0);
      for (size_t k = 0; k < map.variants[i].nb_streams; k++) {
        Check(std::strchr("vas", map.variants[i].streams[k].type) != nullptr);
      }
    }
    hlsbridge_stream_map_free(&map);
  }
  const auto codec = static_cast<hlsbridge_codec_id>(in.Byte() % 10);
  const std::string extradata = in.String(96);
  char name[64];
  rc = hlsbridge_codec_string(codec, reinterpret_cast<const uint8_t*>(extradata.data()),
                              extradata.size(), in.Byte() % 40, name, sizeof(name));
  Check(name[0] != '\0');
  if (rc == 0) {
    for (const char* c = name; *c; c++) Check(*c > 0x20 && *c < 0x7f && *c != ',' && *c != '"');
  } else {
    Check(rc == -EINVAL || rc == -ERANGE);
  }
}

// The reader of our own playlists, behind resume: any file is read or
// refused with a reason; a playlist it accepts can be continued, and what
// is written then reads back.
void FuzzResume(Input& in, const std::string& path) {
  static const char* const kHeads[] = {
      "", "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-MEDIA-SEQUENCE:4\n#EXT-X-TARGETDURATION:2\n",
      ("#EXTM3U\n#EXT-X-VERSION:6\n#EXT-X-INDEPENDENT-SEGMENTS\n#EXT-X-MEDIA-SEQUENCE:0\n"
       "#EXT-X-TARGETDURATION:4\n#EXT-X-PLAYLIST-TYPE:EVENT\n#EXT-X-MAP:URI=\"i.mp4\"\n")};
  std::string text = kHeads[in.Byte() % 3];
  while (!in.empty() && text.size() < 2000) {
    switch (in.Byte() % 4) {
      case 0: text += "#EXTINF:" + std::to_string(in.Byte() % 5) + ".000,\n"; break;
      case 1: text += "s" + std::to_string(in.Byte()) + ".ts\n"; break;
      case 2: text += in.String(40); break;
      default: text += "#EXT-X-DISCONTINUITY\n"; break;
    }
  }
  {
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    f << text;
  }
  hlsbridge_resume_info info;
  char msg[256] = "";
  int rc = hlsbridge_playlist_read_info(path.c_str(), &info, msg, sizeof(msg));
  Check(rc == 0 || (rc < 0 && msg[0] != '\0'));
  if (rc != 0) return;
  hlsbridge_resume_info_free(&info);
  hlsbridge_playlist_options opts;
  hlsbridge_playlist_options_init(&opts);
  opts.path = path.c_str();
  opts.type = in.Byte() & 1 ? HLSBRIDGE_PLAYLIST_EVENT : HLSBRIDGE_PLAYLIST_LIVE;
  opts.window_size = 3;
  opts.resume = 1;
  opts.resume_ended = 1;
  opts.fsync_file = opts.fsync_dir = 0;
  hlsbridge_playlist* pl = nullptr;
  if (hlsbridge_playlist_open(&opts, &pl) != 0) return;
  hlsbridge_segment seg;
  std::memset(&seg, 0, sizeof(seg));
  seg.uri = "next.ts";
  seg.duration = 1.0;
  seg.discontinuity = 1;
  Check(hlsbridge_playlist_add_segment(pl, &seg) == 0);
  Check(hlsbridge_playlist_write(pl) == 0);
  hlsbridge_playlist_close(pl);
  Check(hlsbridge_playlist_read_info(path.c_str(), &info, msg, sizeof(msg)) == 0);
  Check(info.last_uri != nullptr && std::strcmp(info.last_uri, "next.ts") == 0);
  hlsbridge_resume_info_free(&info);
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Input in(data, size);
  const uint8_t mode = in.Byte() % 8;
  if (mode < 2) {
    FuzzLadderInputs(in);
    return 0;
  }
  if (mode < 4) {
    FuzzResume(in, ScratchPath() + "/resume.m3u8");
    return 0;
  }
  const std::string path = ScratchPath() + "/index.m3u8";
  unlink(path.c_str());

  hlsbridge_playlist_options opts;
  hlsbridge_playlist_options_init(&opts);
  opts.path = path.c_str();
  opts.window_size = in.Byte() % 8;
  opts.type = static_cast<hlsbridge_playlist_type>(in.Byte() % 5);
  opts.target_duration = (in.Byte() & 1) ? in.Raw<double>() : in.Byte() % 10;
  opts.pdt_utc_offset_minutes = static_cast<int16_t>(in.Raw<uint16_t>()) % 1600;
  opts.fsync_file = 0;
  opts.fsync_dir = 0;
  const std::string base = (in.Byte() & 3) == 0 ? in.String(12) : std::string();
  opts.base_url = base.c_str();
  opts.independent_segments = in.Byte() & 1;

  hlsbridge_playlist* pl = nullptr;
  int rc = hlsbridge_playlist_open(&opts, &pl);
  if (rc != 0) {
    Check(pl == nullptr && rc < 0 && *hlsbridge_last_open_error() != '\0');
    return 0;
  }
  const bool vod = opts.type == HLSBRIDGE_PLAYLIST_VOD ||
                   (opts.type == HLSBRIDGE_PLAYLIST_AUTO && opts.window_size == 0);
  bool finished = false;
  bool map_refused = false;
  uint64_t last_seq = 0;
  while (!in.empty()) {
    switch (in.Byte() % 8) {
      case 0:
      case 1: {
        const std::string uri = in.String(24);
        hlsbridge_segment seg;
        std::memset(&seg, 0, sizeof(seg));
        seg.uri = uri.c_str();
        switch (in.Byte() % 4) {
          case 0: seg.duration = in.Raw<double>(); break;
          case 1: seg.duration = (in.Byte() + 1) / 100.0; break;
          case 2: seg.duration = in.Byte() % 2 ? NAN : -INFINITY; break;
          default: seg.duration = 2.0; break;
        }
        seg.program_date_time_ms = (in.Byte() & 1) ? in.Raw<int64_t>() : HLSBRIDGE_NO_PDT;
        const uint8_t flags = in.Byte();
        seg.discontinuity = flags & 1;
        // No URI and no file to derive one from: refused by name.
        if (flags & 4) seg.uri = nullptr;
        // Half of them through the publisher thread, which publishes on its
        // own while this thread goes on.
        rc = (flags & 2) ? hlsbridge_playlist_submit_segment(pl, &seg)
                         : hlsbridge_playlist_add_segment(pl, &seg);
        Check(rc == 0 || (rc == -EINVAL && *hlsbridge_playlist_error(pl) != '\0'));
        break;
      }
      case 2:
      case 3:
        if (hlsbridge_playlist_write(pl) == 0) {
          last_seq = Validate(ReadFile(path), last_seq, vod || finished,
                              opts.independent_segments);
        }
        break;
      case 4:
        if (hlsbridge_playlist_finish(pl) == 0) {
          finished = true;
          last_seq = Validate(ReadFile(path), last_seq, true, opts.independent_segments);
        }
        break;
      case 5: {
        // An init section for the segments that follow, now or through the
        // publisher thread (no file: the URI only).
        const std::string uri = in.String(24);
        const bool submit = in.Byte() & 1;
        rc = submit ? hlsbridge_playlist_submit_map(pl, uri.c_str(), nullptr)
                    : hlsbridge_playlist_set_map(pl, uri.c_str(), nullptr);
        Check(rc == 0 || (rc == -EINVAL && *hlsbridge_playlist_error(pl) != '\0'));
        map_refused |= submit && rc != 0;
        break;
      }
      case 6: {
        // A key for the segments that follow (sometimes none: METHOD=NONE).
        const std::string uri = in.String(24);
        hlsbridge_key key;
        std::memset(&key, 0, sizeof(key));
        key.uri = (in.Byte() & 3) ? uri.c_str() : nullptr;
        for (uint8_t& b : key.iv) b = in.Byte();
        const bool submit = in.Byte() & 1;
        rc = submit ? hlsbridge_playlist_submit_key(pl, &key)
                    : hlsbridge_playlist_set_key(pl, &key);
        Check(rc == 0 || (rc == -EINVAL && *hlsbridge_playlist_error(pl) != '\0'));
        map_refused |= submit && rc != 0;
        break;
      }
      default: {
        hlsbridge_playlist_stats st;
        Check(hlsbridge_playlist_get_stats(pl, &st) == 0);
        Check(st.media_sequence >= last_seq);
        Check(hlsbridge_playlist_delete_expired(pl, 0) == 0);
        // A submitted map that was refused loses the segments submitted
        // after it, which the publisher reports.
        rc = hlsbridge_playlist_flush(pl);
        Check(rc == 0 || (rc == -EINVAL && map_refused));
        Check(hlsbridge_playlist_get_stats(pl, &st) == 0 && st.segments_queued == 0);
        break;
      }
    }
  }
  hlsbridge_playlist_close(pl);
  return 0;
}
