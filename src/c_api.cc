// The C API: a thin boundary over Playlist. Nothing thrown inside may cross
// it, so every entry point catches and turns exceptions into error codes.
#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cmath>
#include <cstring>
#include <memory>
#include <new>
#include <string>
#include <utility>

#include "hlsbridge/hlsbridge.h"
#include "atomic_write.h"
#include "c_api_internal.h"
#include "key_info.h"
#include "playlist.h"
#include "publisher.h"
#include "thread_annotations.h"


namespace {

using hlsbridge::LogLevel;
using hlsbridge::Playlist;
using hlsbridge::PlaylistType;
using hlsbridge::Status;

thread_local std::string tls_error_copy;

int Record(hlsbridge_playlist* pl, const Status& s) {
  hlsbridge::MutexLock l(&pl->mu);
  pl->last_error = s.ok() ? std::string() : s.message();
  return s.ToNegativeErrno();
}

// Also called from catch handlers: a message that does not fit in memory
// leaves the code alone.
int RecordMessage(hlsbridge_playlist* pl, int code, const char* message) {
  try {
    hlsbridge::MutexLock l(&pl->mu);
    pl->last_error = message;
  } catch (...) {
  }
  return code;
}

// Runs `fn` and maps exceptions that escape the core (allocation failure is
// the only expected one) to error codes.
template <typename Fn>
int Guard(hlsbridge_playlist* pl, Fn&& fn) {
  try {
    return fn();
  } catch (const std::bad_alloc&) {
    return RecordMessage(pl, -ENOMEM, "out of memory");
  } catch (const std::exception& e) {
    return RecordMessage(pl, -EIO, e.what());
  } catch (...) {
    return RecordMessage(pl, -EIO, "unknown internal error");
  }
}

// A SegmentInput (views of the caller's strings) or a SegmentFile (copies)
// from the C struct.
template <typename Segment>
void FromC(const hlsbridge_segment& seg, Segment* out) {
  if (seg.uri != nullptr) out->uri = seg.uri;
  out->duration = seg.duration;
  if (seg.program_date_time_ms != HLSBRIDGE_NO_PDT) {
    out->program_date_time_ms = seg.program_date_time_ms;
  }
  out->discontinuity = seg.discontinuity != 0;
  if (seg.file_path != nullptr) out->file_path = seg.file_path;
  out->size_bytes = seg.size;
}

// Who a file handed to WithSegment belongs to when no URI can be derived for
// it: the caller (add_segment, set_map), or the publisher, which loses it as
// a refused segment or map (submit_segment, submit_map).
enum class Owner { kCaller, kSegment, kMap };

// Checks the arguments that add and submit share, converts *seg to a Segment
// (its URI derived from the file path when it has none) and records what
// fn(segment) returns.
template <typename Segment, typename Fn>
int WithSegment(hlsbridge_playlist* pl, const hlsbridge_segment* seg, Owner owner,
                Fn&& fn) {
  if (pl == nullptr) return -EINVAL;
  if (seg == nullptr || (seg->uri == nullptr && seg->file_path == nullptr)) {
    return RecordMessage(pl, -EINVAL,
                         "a segment needs a uri or a file_path (or both)");
  }
  return Guard(pl, [&] {
    Segment segment;
    FromC(*seg, &segment);
    std::string derived;  // outlives fn(): a SegmentInput only views it
    if (seg->uri == nullptr) {
      Status s = pl->impl->UriForFile(seg->file_path, &derived);
      if (!s.ok()) {
        if (owner == Owner::kSegment) (void)pl->publisher->Discard(seg->file_path);
        if (owner == Owner::kMap) pl->publisher->RefuseMap(seg->file_path, s);
        return Record(pl, s);
      }
      segment.uri = derived;
    }
    return Record(pl, fn(std::move(segment)));
  });
}

// WithSegment for an init section: a URI and a file path, the URI derived
// from the path when NULL.
template <typename Fn>
int WithMap(hlsbridge_playlist* pl, const char* uri, const char* file_path,
            Owner owner, Fn&& fn) {
  hlsbridge_segment seg{};
  seg.uri = uri;
  seg.file_path = file_path;
  return WithSegment<hlsbridge::SegmentFile>(pl, &seg, owner,
                                             std::forward<Fn>(fn));
}

// Fills the C struct from the playlist's and the publisher's counters.
int CopyStats(hlsbridge_playlist* pl, hlsbridge_playlist_stats* stats) {
  const hlsbridge::PlaylistStats st = pl->impl->GetStats();
  *stats = hlsbridge_playlist_stats{};
  stats->writes_ok = st.writes_ok;
  stats->writes_failed = st.writes_failed;
  stats->last_write_latency_us = st.last_write_latency_us;
  stats->last_success_unix_ms = st.last_success_unix_ms;
  stats->media_sequence = st.media_sequence;
  stats->discontinuity_sequence = st.discontinuity_sequence;
  stats->target_duration = st.target_duration;
  stats->segment_count = st.segment_count;
  stats->pending_deletions = st.pending_deletions;
  stats->files_deleted = st.files_deleted;
  stats->finished = st.finished ? 1 : 0;
  stats->peak_bitrate = st.peak_bitrate;
  stats->average_bitrate = st.average_bitrate;
  const hlsbridge::PublisherStats ps = pl->publisher->GetStats();
  stats->segments_queued = ps.queued;
  stats->segments_lost = ps.segments_lost;
  stats->maps_lost = ps.maps_lost;
  stats->keys_lost = ps.keys_lost;
  stats->publish_latency_p50_us = ps.latency_p50_us;
  stats->publish_latency_p99_us = ps.latency_p99_us;
  stats->publish_latency_max_us = ps.latency_max_us;
  stats->publish_latency_samples = ps.latency_samples;
  return 0;
}

hlsbridge::KeyInput KeyFromC(const hlsbridge_key& key) {
  hlsbridge::KeyInput in;
  if (key.uri != nullptr) in.uri = key.uri;
  std::copy(key.iv, key.iv + 16, in.iv);
  if (key.file_path != nullptr) in.file_path = key.file_path;
  return in;
}

char* CopyString(const std::string& s) {
  char* out = static_cast<char*>(std::malloc(s.size() + 1));
  if (out == nullptr) throw std::bad_alloc();
  std::memcpy(out, s.c_str(), s.size() + 1);
  return out;
}

}  // namespace

namespace hlsbridge {
std::string& OpenErrorOfThisThread() {
  thread_local std::string message;
  return message;
}
}  // namespace hlsbridge

extern "C" {

void hlsbridge_playlist_options_init(hlsbridge_playlist_options* opts) {
  if (opts == nullptr) return;
  *opts = hlsbridge_playlist_options{};
  opts->type = HLSBRIDGE_PLAYLIST_AUTO;
  opts->fsync_file = 1;
  opts->fsync_dir = 1;
  opts->remove_stale_temp_files = 1;
  opts->fsync_segments = 1;
}

int hlsbridge_playlist_open(const hlsbridge_playlist_options* opts,
                            hlsbridge_playlist** out) {
  if (out != nullptr) *out = nullptr;
  try {
    hlsbridge::OpenErrorOfThisThread().clear();
    if (opts == nullptr || out == nullptr) {
      hlsbridge::OpenErrorOfThisThread() = "hlsbridge_playlist_open: options and out are required";
      return -EINVAL;
    }
    hlsbridge::PlaylistOptions o;
    o.path = opts->path != nullptr ? opts->path : "";
    o.window_size = opts->window_size;
    // A C caller may store any int in the enum; reading an out-of-range value
    // through the C++ enum type is undefined, so read the int behind it.
    static_assert(sizeof(hlsbridge_playlist_type) == sizeof(int));
    int type_value;
    std::memcpy(&type_value, &opts->type, sizeof(type_value));
    switch (type_value) {
      case HLSBRIDGE_PLAYLIST_AUTO:
        break;
      case HLSBRIDGE_PLAYLIST_LIVE:
        o.type = PlaylistType::kLive;
        break;
      case HLSBRIDGE_PLAYLIST_EVENT:
        o.type = PlaylistType::kEvent;
        break;
      case HLSBRIDGE_PLAYLIST_VOD:
        o.type = PlaylistType::kVod;
        break;
      default:
        hlsbridge::OpenErrorOfThisThread() = o.path + ": unknown playlist type " +
                         std::to_string(type_value);
        return -EINVAL;
    }
    o.target_duration = opts->target_duration;
    o.start_sequence = opts->start_sequence;
    o.base_url = opts->base_url != nullptr ? opts->base_url : "";
    o.pdt_utc_offset_minutes = opts->pdt_utc_offset_minutes;
    o.fsync_file = opts->fsync_file != 0;
    o.fsync_dir = opts->fsync_dir != 0;
    o.remove_stale_temp_files = opts->remove_stale_temp_files != 0;
    o.delete_segments = opts->delete_segments != 0;
    o.independent_segments = opts->independent_segments != 0;
    o.omit_endlist = opts->omit_endlist != 0;
    o.keep_removed_segments = opts->keep_removed_segments;
    o.resume = opts->resume != 0;
    o.resume_ended = opts->resume_ended != 0;
    if (opts->target != nullptr) o.store = opts->target->store;
    if (opts->log_callback != nullptr) {
      hlsbridge_log_callback cb = opts->log_callback;
      void* opaque = opts->log_opaque;
      o.log = [cb, opaque](LogLevel level, std::string_view message) {
        std::string line(message);  // NUL-terminated for C
        cb(opaque, static_cast<hlsbridge_log_level>(level), line.c_str());
      };
    }
    std::unique_ptr<Playlist> impl;
    Status s = Playlist::Open(o, &impl);
    if (!s.ok()) {
      hlsbridge::OpenErrorOfThisThread() = s.message();
      if (o.log) o.log(LogLevel::kError, s.message());
      return s.ToNegativeErrno();
    }
    hlsbridge::PublisherOptions po;
    po.sync_files = opts->fsync_segments != 0;
    if (opts->max_queued_segments > 0) po.max_queued = opts->max_queued_segments;
    po.drop_when_full = opts->target != nullptr;
    auto pl = std::make_unique<hlsbridge_playlist>();
    pl->publisher = std::make_unique<hlsbridge::Publisher>(
        impl.get(), impl->env(), po);
    pl->impl = std::move(impl);
    *out = pl.release();
    return 0;
  } catch (const std::bad_alloc&) {
    hlsbridge::OpenErrorOfThisThread() = "out of memory";
    return -ENOMEM;
  } catch (...) {
    hlsbridge::OpenErrorOfThisThread() = "unknown internal error";
    return -EIO;
  }
}

const char* hlsbridge_last_open_error(void) { return hlsbridge::OpenErrorOfThisThread().c_str(); }

int hlsbridge_playlist_add_segment(hlsbridge_playlist* pl,
                                   const hlsbridge_segment* seg) {
  return WithSegment<hlsbridge::SegmentInput>(
      pl, seg, Owner::kCaller,
      [&](hlsbridge::SegmentInput in) { return pl->impl->AddSegment(in); });
}

int hlsbridge_playlist_submit_segment(hlsbridge_playlist* pl,
                                      const hlsbridge_segment* seg) {
  return WithSegment<hlsbridge::SegmentFile>(
      pl, seg, Owner::kSegment, [&](hlsbridge::SegmentFile file) {
        return pl->publisher->Submit(std::move(file));
      });
}

int hlsbridge_playlist_queue_full(hlsbridge_playlist* pl) {
  if (pl == nullptr) return -EINVAL;
  return pl->publisher->WouldDrop() ? 1 : 0;
}

int hlsbridge_playlist_set_map(hlsbridge_playlist* pl, const char* uri,
                               const char* file_path) {
  return WithMap(pl, uri, file_path, Owner::kCaller, [&](hlsbridge::SegmentFile map) {
    return pl->impl->SetMap(map.uri, map.file_path);
  });
}

int hlsbridge_playlist_submit_map(hlsbridge_playlist* pl, const char* uri,
                                  const char* file_path) {
  return WithMap(pl, uri, file_path, Owner::kMap, [&](hlsbridge::SegmentFile map) {
    return pl->publisher->SubmitMap(std::move(map));
  });
}

int hlsbridge_playlist_set_key(hlsbridge_playlist* pl, const hlsbridge_key* key) {
  if (pl == nullptr) return -EINVAL;
  if (key == nullptr) return RecordMessage(pl, -EINVAL, "set_key: key is required");
  return Guard(pl, [&] { return Record(pl, pl->impl->SetKey(KeyFromC(*key))); });
}

int hlsbridge_playlist_submit_key(hlsbridge_playlist* pl, const hlsbridge_key* key) {
  if (pl == nullptr) return -EINVAL;
  if (key == nullptr) return RecordMessage(pl, -EINVAL, "submit_key: key is required");
  return Guard(pl, [&] { return Record(pl, pl->publisher->SubmitKey(KeyFromC(*key))); });
}

int hlsbridge_key_info_read(hlsbridge_playlist* pl, const char* path,
                            hlsbridge_key_info* info) {
  if (pl == nullptr) return -EINVAL;
  if (path == nullptr || info == nullptr) {
    return RecordMessage(pl, -EINVAL, "key_info_read: path and info are required");
  }
  return Guard(pl, [&] {
    hlsbridge::KeyInfo ki;
    Status s = hlsbridge::ReadKeyInfo(pl->impl->env(), path, &ki);
    if (s.ok()) {
      hlsbridge_key_info out{};
      out.uri = CopyString(ki.uri);
      try {
        out.key_file = CopyString(ki.key_file);
      } catch (...) {
        std::free(out.uri);
        throw;
      }
      std::copy(ki.key, ki.key + 16, out.key);
      out.has_iv = ki.has_iv ? 1 : 0;
      std::copy(ki.iv, ki.iv + 16, out.iv);
      *info = out;
      hlsbridge::Wipe(out.key, sizeof(out.key));
    }
    hlsbridge::Wipe(ki.key, sizeof(ki.key));
    return Record(pl, s);
  });
}

void hlsbridge_key_info_free(hlsbridge_key_info* info) {
  if (info == nullptr) return;
  std::free(info->uri);
  std::free(info->key_file);
  hlsbridge::Wipe(info->key, sizeof(info->key));
  info->uri = nullptr;
  info->key_file = nullptr;
}

int hlsbridge_parse_hex16(const char* text, uint8_t out[16]) {
  if (text == nullptr || out == nullptr) return -EINVAL;
  uint8_t bytes[16];
  if (!hlsbridge::ParseHex16(text, bytes)) return -EINVAL;
  std::memcpy(out, bytes, sizeof(bytes));
  return 0;
}

int hlsbridge_playlist_write_file(hlsbridge_playlist* pl, const char* path,
                                  const void* data, size_t size) {
  if (pl == nullptr) return -EINVAL;
  if (path == nullptr || *path == '\0' || (data == nullptr && size > 0)) {
    return RecordMessage(pl, -EINVAL, "write_file: path and data are required");
  }
  return Guard(pl, [&] {
    const std::string_view bytes(static_cast<const char*>(data), size);
    return Record(pl, hlsbridge::WriteFileAtomically(pl->impl->env(), path, bytes,
                                                     hlsbridge::AtomicWriteOptions{}));
  });
}

int hlsbridge_playlist_discard_segment(hlsbridge_playlist* pl,
                                       const char* file_path) {
  if (pl == nullptr) return -EINVAL;
  if (file_path == nullptr || *file_path == '\0') {
    return RecordMessage(pl, -EINVAL, "discard_segment: file path is required");
  }
  return Guard(pl, [&] { return Record(pl, pl->publisher->Discard(file_path)); });
}

int hlsbridge_playlist_prepare_dir(hlsbridge_playlist* pl, const char* file_path) {
  if (pl == nullptr) return -EINVAL;
  return Guard(pl, [&] {
    return Record(pl, pl->impl->PrepareDirectory(file_path != nullptr ? file_path : ""));
  });
}

int hlsbridge_playlist_take_error(hlsbridge_playlist* pl) {
  if (pl == nullptr) return -EINVAL;
  return Guard(pl, [&] {
    Status s = pl->publisher->TakeError();
    return s.ok() ? 0 : Record(pl, s);
  });
}

int hlsbridge_playlist_flush(hlsbridge_playlist* pl) {
  if (pl == nullptr) return -EINVAL;
  pl->publisher->Drain();
  return hlsbridge_playlist_take_error(pl);
}

int hlsbridge_playlist_write(hlsbridge_playlist* pl) {
  if (pl == nullptr) return -EINVAL;
  return Guard(pl, [&] { return Record(pl, pl->impl->Write()); });
}

int hlsbridge_playlist_finish(hlsbridge_playlist* pl) {
  if (pl == nullptr) return -EINVAL;
  return Guard(pl, [&] { return Record(pl, pl->publisher->Finish()); });
}

int hlsbridge_playlist_delete_expired(hlsbridge_playlist* pl, int wait) {
  if (pl == nullptr) return -EINVAL;
  return Guard(pl, [&] { return pl->impl->DeleteExpired(wait != 0); });
}

int hlsbridge_playlist_get_stats(hlsbridge_playlist* pl,
                                 hlsbridge_playlist_stats* stats) {
  if (pl == nullptr || stats == nullptr) return -EINVAL;
  return Guard(pl, [&] { return CopyStats(pl, stats); });
}

const char* hlsbridge_playlist_error(const hlsbridge_playlist* pl) {
  if (pl == nullptr) return "";
  try {
    hlsbridge::MutexLock l(&pl->mu);
    tls_error_copy = pl->last_error;
  } catch (...) {
    return "out of memory";
  }
  return tls_error_copy.c_str();
}

void hlsbridge_playlist_close(hlsbridge_playlist* pl) { delete pl; }

const char* hlsbridge_version(void) {
#define HLSB_STR2(x) #x
#define HLSB_STR(x) HLSB_STR2(x)
  return HLSB_STR(HLSBRIDGE_VERSION_MAJOR) "." HLSB_STR(
      HLSBRIDGE_VERSION_MINOR) "." HLSB_STR(HLSBRIDGE_VERSION_PATCH);
}

}  // extern "C"
