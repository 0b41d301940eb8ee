// The C API of ABR ladders (multivariant playlists, var_stream_map, codec
// strings) and of continuing a playlist after a restart. As in c_api.cc,
// nothing thrown inside crosses the boundary.
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "c_api_internal.h"
#include "codecs.h"
#include "multivariant.h"
#include "reader.h"
#include "stream_map.h"

struct hlsbridge_multivariant {
  std::unique_ptr<hlsbridge::Multivariant> impl;
  mutable hlsbridge::Mutex mu;
  std::string last_error GUARDED_BY(mu);
};

namespace {

using hlsbridge::Status;

int Record(hlsbridge_multivariant* mv, const Status& s) {
  hlsbridge::MutexLock l(&mv->mu);
  mv->last_error = s.ok() ? std::string() : s.message();
  return s.ToNegativeErrno();
}

// Records a message that may not fit in memory: then the code alone.
int RecordQuietly(hlsbridge_multivariant* mv, int code, const char* message) {
  try {
    hlsbridge::MutexLock l(&mv->mu);
    mv->last_error = message;
  } catch (...) {
  }
  return code;
}

template <typename Fn>
int Guard(hlsbridge_multivariant* mv, Fn&& fn) {
  try {
    return fn();
  } catch (const std::bad_alloc&) {
    return RecordQuietly(mv, -ENOMEM, "out of memory");
  } catch (...) {
    return RecordQuietly(mv, -EIO, "unknown internal error");
  }
}

std::string Str(const char* s) { return s != nullptr ? s : ""; }

// The input of Multivariant::Add from the C struct.
hlsbridge::RenditionInput InputOf(const hlsbridge_rendition& r) {
  hlsbridge::RenditionInput in;
  hlsbridge::Rendition& out = in.rendition;
  out.kind = r.kind == HLSBRIDGE_RENDITION_AUDIO ? hlsbridge::Rendition::Kind::kAudio
                                                 : hlsbridge::Rendition::Kind::kVariant;
  out.uri = Str(r.uri);
  out.codecs = Str(r.codecs);
  out.width = r.width;
  out.height = r.height;
  out.frame_rate = r.frame_rate;
  out.audio_group = Str(r.audio_group);
  out.group_id = Str(r.group_id);
  out.name = Str(r.name);
  out.language = Str(r.language);
  out.is_default = r.is_default != 0;
  out.autoselect = r.autoselect != 0;
  in.declared_bandwidth = r.declared_bandwidth;
  in.playlist_path = r.playlist->impl->path();
  const hlsbridge::Playlist* pl = r.playlist->impl.get();
  in.measure = [pl] {
    const hlsbridge::PlaylistStats st = pl->GetStats();
    hlsbridge::MeasuredRates m;
    m.published = st.writes_ok > 0;
    m.peak = st.peak_bitrate;
    m.average = st.average_bitrate;
    return m;
  };
  return in;
}

// Copies `text` into a caller's buffer, truncated and NUL-terminated.
void CopyOut(const std::string& text, char* out, size_t size) {
  if (out == nullptr || size == 0) return;
  const size_t n = std::min(text.size(), size - 1);
  std::memcpy(out, text.data(), n);
  out[n] = '\0';
}

char* DupOrNull(const std::string& s) {
  if (s.empty()) return nullptr;
  char* out = static_cast<char*>(std::malloc(s.size() + 1));
  if (out == nullptr) throw std::bad_alloc();
  std::memcpy(out, s.c_str(), s.size() + 1);
  return out;
}

// Fills a C map from parsed specs; frees what it made on failure.
void FillMap(const std::vector<hlsbridge::VariantSpec>& specs,
             hlsbridge_stream_map* map) {
  hlsbridge_stream_map out{};
  out.variants = static_cast<hlsbridge_variant_spec*>(
      std::calloc(specs.size(), sizeof(hlsbridge_variant_spec)));
  if (out.variants == nullptr) throw std::bad_alloc();
  out.nb_variants = specs.size();
  try {
    for (size_t i = 0; i < specs.size(); i++) {
      hlsbridge_variant_spec& v = out.variants[i];
      v.streams = static_cast<hlsbridge_stream_ref*>(
          std::calloc(specs[i].streams.size(), sizeof(hlsbridge_stream_ref)));
      if (v.streams == nullptr) throw std::bad_alloc();
      v.nb_streams = specs[i].streams.size();
      for (size_t k = 0; k < v.nb_streams; k++) {
        v.streams[k].type = specs[i].streams[k].type;
        v.streams[k].index = specs[i].streams[k].index;
      }
      v.name = DupOrNull(specs[i].name);
      v.agroup = DupOrNull(specs[i].agroup);
      v.sgroup = DupOrNull(specs[i].sgroup);
      v.ccgroup = DupOrNull(specs[i].ccgroup);
      v.language = DupOrNull(specs[i].language);
      v.is_default = specs[i].is_default ? 1 : 0;
    }
  } catch (...) {
    hlsbridge_stream_map_free(&out);
    throw;
  }
  *map = out;
}

hlsbridge::CodecId CodecOf(hlsbridge_codec_id id) {
  switch (id) {
    case HLSBRIDGE_CODEC_H264: return hlsbridge::CodecId::kH264;
    case HLSBRIDGE_CODEC_HEVC: return hlsbridge::CodecId::kHevc;
    case HLSBRIDGE_CODEC_AV1:  return hlsbridge::CodecId::kAv1;
    case HLSBRIDGE_CODEC_AAC:  return hlsbridge::CodecId::kAac;
    case HLSBRIDGE_CODEC_OPUS: return hlsbridge::CodecId::kOpus;
    case HLSBRIDGE_CODEC_MP3:  return hlsbridge::CodecId::kMp3;
    case HLSBRIDGE_CODEC_AC3:  return hlsbridge::CodecId::kAc3;
    case HLSBRIDGE_CODEC_EAC3: return hlsbridge::CodecId::kEac3;
    default:                   return hlsbridge::CodecId::kOther;
  }
}

}  // namespace

extern "C" {

void hlsbridge_multivariant_options_init(hlsbridge_multivariant_options* opts) {
  if (opts == nullptr) return;
  *opts = hlsbridge_multivariant_options{};
  opts->fsync_file = 1;
  opts->fsync_dir = 1;
}

int hlsbridge_multivariant_open(const hlsbridge_multivariant_options* opts,
                                hlsbridge_multivariant** out) {
  if (out != nullptr) *out = nullptr;
  std::string& error = hlsbridge::OpenErrorOfThisThread();
  try {
    error.clear();
    if (opts == nullptr || out == nullptr) {
      error = "hlsbridge_multivariant_open: options and out are required";
      return -EINVAL;
    }
    hlsbridge::MultivariantOptions o;
    o.path = Str(opts->path);
    o.fsync_file = opts->fsync_file != 0;
    o.fsync_dir = opts->fsync_dir != 0;
    o.independent_segments = opts->independent_segments != 0;
    if (opts->target != nullptr) o.store = opts->target->store;
    auto mv = std::make_unique<hlsbridge_multivariant>();
    Status s = hlsbridge::Multivariant::Open(o, &mv->impl);
    if (!s.ok()) {
      error = s.message();
      if (opts->log_callback != nullptr) {
        opts->log_callback(opts->log_opaque, HLSBRIDGE_LOG_ERROR, error.c_str());
      }
      return s.ToNegativeErrno();
    }
    *out = mv.release();
    return 0;
  } catch (const std::bad_alloc&) {
    error = "out of memory";
    return -ENOMEM;
  } catch (...) {
    error = "unknown internal error";
    return -EIO;
  }
}

int hlsbridge_multivariant_add(hlsbridge_multivariant* mv, const hlsbridge_rendition* r) {
  if (mv == nullptr) return -EINVAL;
  return Guard(mv, [&] {
    if (r == nullptr || r->playlist == nullptr) {
      return Record(mv, Status::InvalidArgument(mv->impl->path() +
                                                ": a rendition needs its media playlist"));
    }
    return Record(mv, mv->impl->Add(InputOf(*r)));
  });
}

int hlsbridge_multivariant_update(hlsbridge_multivariant* mv,
                                  hlsbridge_multivariant_mode mode) {
  if (mv == nullptr) return -EINVAL;
  return Guard(mv, [&] {
    using Mode = hlsbridge::Multivariant::Mode;
    int value;
    std::memcpy(&value, &mode, sizeof(value));
    const Mode m = value == HLSBRIDGE_MULTIVARIANT_FINAL     ? Mode::kFinal
                   : value == HLSBRIDGE_MULTIVARIANT_REFRESH ? Mode::kRefresh
                                                             : Mode::kIfNeeded;
    bool written = false;
    const int ret = Record(mv, mv->impl->Update(m, &written));
    return ret < 0 ? ret : written ? 1 : 0;
  });
}

const char* hlsbridge_multivariant_error(const hlsbridge_multivariant* mv) {
  thread_local std::string copy;
  if (mv == nullptr) return "";
  try {
    hlsbridge::MutexLock l(&mv->mu);
    copy = mv->last_error;
  } catch (...) {
    return "out of memory";
  }
  return copy.c_str();
}

void hlsbridge_multivariant_close(hlsbridge_multivariant* mv) { delete mv; }

int hlsbridge_stream_map_parse(const char* text, hlsbridge_stream_map* map,
                               char* err, size_t err_size) {
  try {
    if (text == nullptr || map == nullptr) {
      CopyOut("var_stream_map: text and map are required", err, err_size);
      return -EINVAL;
    }
    std::vector<hlsbridge::VariantSpec> specs;
    Status s = hlsbridge::ParseStreamMap(text, &specs);
    if (!s.ok()) {
      CopyOut(s.message(), err, err_size);
      return s.ToNegativeErrno();
    }
    FillMap(specs, map);
    return 0;
  } catch (...) {
    CopyOut("out of memory", err, err_size);
    return -ENOMEM;
  }
}

void hlsbridge_stream_map_free(hlsbridge_stream_map* map) {
  if (map == nullptr || map->variants == nullptr) return;
  for (size_t i = 0; i < map->nb_variants; i++) {
    hlsbridge_variant_spec& v = map->variants[i];
    std::free(v.streams);
    std::free(v.name);
    std::free(v.agroup);
    std::free(v.sgroup);
    std::free(v.ccgroup);
    std::free(v.language);
  }
  std::free(map->variants);
  map->variants = nullptr;
  map->nb_variants = 0;
}

int hlsbridge_codec_string(hlsbridge_codec_id codec, const uint8_t* extradata,
                           size_t extradata_size, int aac_object_type, char* out,
                           size_t out_size) {
  try {
    hlsbridge::CodecInfo info;
    int value;
    std::memcpy(&value, &codec, sizeof(value));
    info.id = CodecOf(static_cast<hlsbridge_codec_id>(value));
    info.extradata = extradata;
    info.extradata_size = extradata != nullptr ? extradata_size : 0;
    info.aac_object_type = aac_object_type;
    std::string text;
    Status s = hlsbridge::CodecString(info, &text);
    if (!s.ok()) {
      CopyOut(s.message(), out, out_size);
      return s.ToNegativeErrno();
    }
    if (out == nullptr || text.size() >= out_size) {
      CopyOut("codec string does not fit", out, out_size);
      return -ERANGE;
    }
    CopyOut(text, out, out_size);
    return 0;
  } catch (...) {
    CopyOut("out of memory", out, out_size);
    return -ENOMEM;
  }
}

}  // extern "C"

// ---------------------------------------------------------------- resume

namespace {

char* DupOrNullC(const std::string& s) {
  return s.empty() ? nullptr : DupOrNull(s);
}

void FillResumeInfo(const hlsbridge::ResumeInfo& r, hlsbridge_resume_info* info) {
  hlsbridge_resume_info out{};
  out.resumed = r.resumed ? 1 : 0;
  out.segments = r.segments;
  out.next_media_sequence = r.next_media_sequence;
  out.discontinuity_sequence = r.discontinuity_sequence;
  out.target_duration = r.target_duration;
  out.ended = r.was_ended ? 1 : 0;
  out.pdt_end_ms = r.pdt_end_ms.value_or(HLSBRIDGE_NO_PDT);
  out.key_in_force = r.key_in_force ? 1 : 0;
  out.last_uri = DupOrNullC(r.last_uri);
  try {
    out.map_uri = DupOrNullC(r.map_uri);
  } catch (...) {
    std::free(out.last_uri);
    throw;
  }
  *info = out;
}

}  // namespace

extern "C" {

int hlsbridge_playlist_get_resume_info(hlsbridge_playlist* pl, hlsbridge_resume_info* info) {
  if (pl == nullptr || info == nullptr) return -EINVAL;
  try {
    FillResumeInfo(pl->impl->resume_info(), info);
    return 0;
  } catch (...) {
    return -ENOMEM;
  }
}

int hlsbridge_playlist_read_info(const char* path, hlsbridge_resume_info* info, char* err,
                                 size_t err_size) {
  return hlsbridge_playlist_read_info_from(nullptr, path, info, err, err_size);
}

int hlsbridge_playlist_read_info_from(hlsbridge_target* target, const char* path,
                                      hlsbridge_resume_info* info, char* err,
                                      size_t err_size) {
  try {
    if (path == nullptr || info == nullptr) {
      CopyOut("read_info: path and info are required", err, err_size);
      return -EINVAL;
    }
    hlsbridge::LocalStore local(hlsbridge::Env::Default(), hlsbridge::AtomicWriteOptions{});
    hlsbridge::Store* store = &local;
    if (target != nullptr) store = target->store.get();
    std::string text;
    hlsbridge::ReadPlaylist read;
    Status s = store->Get(path, &text);
    if (s.os_errno() == ENOENT) {
      CopyOut(std::string(path) + ": no such playlist", err, err_size);
      return -ENOENT;
    }
    if (s.ok()) s = hlsbridge::ReadOwnPlaylist(text, path, &read);
    if (!s.ok()) {
      CopyOut(s.message(), err, err_size);
      return s.ToNegativeErrno();
    }
    hlsbridge::ResumeInfo r;
    r.resumed = true;
    r.segments = read.segments.size();
    r.next_media_sequence = read.media_sequence + read.segments.size();
    r.discontinuity_sequence = read.discontinuity_sequence;
    r.target_duration = read.target_duration;
    r.was_ended = read.ended;
    if (!read.segments.empty()) {
      const hlsbridge::ReadSegment& last = read.segments.back();
      r.last_uri = last.uri;
      r.map_uri = last.map_uri;
      r.key_in_force = !last.key.empty() && last.key != "METHOD=NONE";
      if (last.program_date_time_ms) {
        r.pdt_end_ms = *last.program_date_time_ms + last.duration_ms;
      }
    }
    FillResumeInfo(r, info);
    return 0;
  } catch (...) {
    CopyOut("out of memory", err, err_size);
    return -ENOMEM;
  }
}

void hlsbridge_resume_info_free(hlsbridge_resume_info* info) {
  if (info == nullptr) return;
  std::free(info->last_uri);
  std::free(info->map_uri);
  info->last_uri = nullptr;
  info->map_uri = nullptr;
}

}  // extern "C"
