#include "playlist.h"

#include <algorithm>
#include <cerrno>
#include <cmath>

#include "atomic_write.h"
#include "hlsbridge/hlsbridge.h"
#include "reader.h"

namespace hlsbridge {

namespace {

constexpr double kMinSegmentDuration = 0.001;  // one printed millisecond

// Seconds rounded up to a whole number, after rounding to the printed
// millisecond: 6.0000004 gives 6, 6.0004 gives 6, 6.0006 gives 7.
uint64_t CeilPrintedSeconds(int64_t ms) {
  return static_cast<uint64_t>((ms + 999) / 1000);
}

bool HasControlCharacter(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char ch) {
    unsigned char c = static_cast<unsigned char>(ch);
    return c < 0x20 || c == 0x7f;
  });
}

// Creates and removes the file `name` in `dir`: whether files can be created
// there (permissions, a read-only mount). EEXIST (a probe of another process
// at the same moment) counts as success.
Status ProbeCreate(Env* env, const std::string& dir, const std::string& name) {
  const std::string probe = (dir == "/" ? "/" : dir + "/") + name;
  std::unique_ptr<WritableFile> file;
  Status s = env->NewWritableFile(probe, &file);
  if (!s.ok()) return s.os_errno() == EEXIST ? Status::OK() : s;
  (void)file->Close();
  (void)env->RemoveFile(probe);
  return Status::OK();
}

std::string FormatDouble(double v) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.17g", v);
  return buf;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// "%20" -> ' '; false for a malformed escape.
bool PercentDecode(std::string_view in, std::string* out) {
  out->clear();
  for (size_t i = 0; i < in.size(); i++) {
    if (in[i] != '%') {
      out->push_back(in[i]);
      continue;
    }
    if (i + 2 >= in.size() || HexValue(in[i + 1]) < 0 || HexValue(in[i + 2]) < 0) {
      return false;
    }
    out->push_back(static_cast<char>(HexValue(in[i + 1]) * 16 + HexValue(in[i + 2])));
    i += 2;
  }
  return true;
}

// Whether an existing playlist may be continued by a playlist of `type`
// with these options; the message names the file and what to change.
Status CheckResumable(const PlaylistOptions& options, PlaylistType type,
                      const ReadPlaylist& read, uint64_t floor_target) {
  const std::string& path = options.path;
  if (type == PlaylistType::kVod) {
    return Status::InvalidArgument(path + ": a VOD playlist is written whole at every "
                                   "segment; it cannot continue an existing one");
  }
  if (read.event != (type == PlaylistType::kEvent)) {
    return Status::InvalidArgument(
        path + ": the existing playlist is " + (read.event ? "an EVENT" : "not an EVENT") +
        " playlist, this stream " + (type == PlaylistType::kEvent ? "is" : "is not") +
        " one; continue it with the same playlist type");
  }
  if (read.ended && !options.resume_ended) {
    return Status::InvalidArgument(
        path + ": the existing playlist has EXT-X-ENDLIST (its stream ended); continuing "
               "it must be asked for explicitly");
  }
  if (floor_target > read.target_duration) {
    return Status::InvalidArgument(
        path + ": this stream's segments need EXT-X-TARGETDURATION:" +
        std::to_string(floor_target) + ", the existing playlist has " +
        std::to_string(read.target_duration) +
        ", which must not change (RFC 8216 6.2.1): make segments at most " +
        std::to_string(read.target_duration) + " s long to continue it");
  }
  return Status::OK();
}

}  // namespace

Status Playlist::Open(const PlaylistOptions& options,
                      std::unique_ptr<Playlist>* result) {
  result->reset();
  const std::string& path = options.path;
  if (path.empty()) return Status::InvalidArgument("playlist path is empty");
  if (path.back() == '/' || BaseName(path) == "." || BaseName(path) == "..") {
    return Status::InvalidArgument("playlist path \"" + path +
                                   "\" names a directory, not a file");
  }
  if (HasControlCharacter(path)) {
    return Status::InvalidArgument("playlist path \"" + path +
                                   "\" contains a control character");
  }
  if (!std::isfinite(options.target_duration) || options.target_duration < 0 ||
      options.target_duration > HLSBRIDGE_MAX_SEGMENT_DURATION) {
    return Status::InvalidArgument(
        path + ": target duration " + FormatDouble(options.target_duration) +
        " is not a number of seconds in [0, 1e6]");
  }
  if (options.pdt_utc_offset_minutes < -1439 ||
      options.pdt_utc_offset_minutes > 1439) {
    return Status::InvalidArgument(
        path + ": program date-time UTC offset " +
        std::to_string(options.pdt_utc_offset_minutes) +
        " minutes is outside -1439..1439");
  }
  Status s = ValidateBaseUrl(options.base_url);
  if (!s.ok()) return Status::InvalidArgument(path + ": " + s.message());

  PlaylistType type = options.type.value_or(
      options.window_size > 0 ? PlaylistType::kLive : PlaylistType::kVod);
  if (options.omit_endlist && type == PlaylistType::kVod) {
    return Status::InvalidArgument(
        path + ": a VOD playlist always ends with EXT-X-ENDLIST; omit_endlist "
               "needs a live or event playlist");
  }
  Env* env = options.env != nullptr ? options.env : Env::Default();

  const std::string dir = DirName(path);
  s = env->CreateDir(dir);
  if (!s.ok()) return s;
  if (options.remove_stale_temp_files) {
    int removed = 0;
    s = RemoveStaleTempFiles(env, path, &removed);
    if (!s.ok()) return s;
    if (removed > 0 && options.log) {
      options.log(LogLevel::kInfo,
                  path + ": removed " + std::to_string(removed) +
                      " stale temp file(s) left by an earlier process");
    }
  }
  // Find out now, not at the first segment, whether we can create files next
  // to the playlist (permissions, read-only mount): the temp file step is the
  // one that would fail.
  s = ProbeCreate(env, dir, TempFilePrefix(path) + "probe0.tmp");
  if (!s.ok()) return Status::IOError(path, "open", s.os_errno());
  std::string real_dir;
  s = env->RealPath(dir, &real_dir);
  if (!s.ok()) return s;

  std::shared_ptr<Store> store = options.store;
  if (!store) {
    AtomicWriteOptions wo;
    wo.sync_file = options.fsync_file;
    wo.sync_dir = options.fsync_dir;
    store = std::make_shared<LocalStore>(env, wo);
  }
  ReadPlaylist read;
  bool resume = false;
  if (options.resume) {
    std::string text;
    s = store->Get(path, &text);
    resume = s.ok();
    if (!s.ok() && s.os_errno() != ENOENT) return s;
    if (resume &&
        (!(s = ReadOwnPlaylist(text, path, &read)).ok() ||
         !(s = CheckResumable(options, type, read,
                              CeilPrintedSeconds(std::llround(options.target_duration * 1000.0))))
              .ok())) {
      return s;
    }
  }
  std::unique_ptr<Playlist> pl(
      new Playlist(options, type, env, std::move(store), std::move(real_dir)));
  if (resume) pl->Resume(read);
  *result = std::move(pl);
  return Status::OK();
}

std::string Playlist::FileOfUri(std::string_view uri) const {
  const std::string& base = options_.base_url;
  if (uri.substr(0, base.size()) != base) return "";
  uri.remove_prefix(base.size());
  std::string name;
  if (uri.empty() || uri.find("://") != std::string_view::npos || uri[0] == '/' ||
      !PercentDecode(uri, &name)) {
    return "";
  }
  return DirName(options_.path) + "/" + name;
}

void Playlist::Resume(const ReadPlaylist& read) {
  MutexLock wl(&write_mu_);
  MutexLock l(&mu_);
  int64_t t = 0;
  std::shared_ptr<const Map> map;
  uint64_t sequence = read.media_sequence;
  for (const ReadSegment& r : read.segments) {
    Entry e;
    e.sequence = sequence++;
    e.rendered.uri = r.uri;
    e.rendered.start_ms = t;
    e.rendered.end_ms = t += r.duration_ms;
    e.rendered.program_date_time_ms = r.program_date_time_ms;
    e.rendered.discontinuity = r.discontinuity;
    e.rendered.map_uri = r.map_uri;
    e.rendered.key = r.key;
    e.duration = r.duration_ms / 1000.0;
    e.file_path = FileOfUri(r.uri);
    if (!r.map_uri.empty() && (!map || map->uri != r.map_uri)) {
      map = std::make_shared<const Map>(Map{r.map_uri, FileOfUri(r.map_uri)});
    }
    e.map = r.map_uri.empty() ? nullptr : map;
    entries_.push_back(std::move(e));
  }
  for (Entry& e : entries_) e.longest_playlist = t / 1000.0;
  media_sequence_ = read.media_sequence;
  next_sequence_ = sequence;
  discontinuity_sequence_ = read.discontinuity_sequence;
  target_duration_ = std::max(target_duration_, read.target_duration);
  published_target_duration_ = read.target_duration;
  timeline_seconds_ = t / 1000.0;
  window_ms_ = t;
  map_ = entries_.empty() ? nullptr : entries_.back().map;
  map_used_ = map != nullptr;
  key_ = entries_.empty() ? std::string() : entries_.back().rendered.key;
  body_end_sequence_ = read.media_sequence;

  resume_info_.resumed = true;
  resume_info_.segments = read.segments.size();
  resume_info_.next_media_sequence = sequence;
  resume_info_.discontinuity_sequence = read.discontinuity_sequence;
  resume_info_.target_duration = target_duration_;
  resume_info_.was_ended = read.ended;
  resume_info_.last_uri = read.segments.empty() ? "" : read.segments.back().uri;
  resume_info_.map_uri = map_ ? map_->uri : "";
  resume_info_.map_file = map_ ? map_->file_path : "";
  resume_info_.key_in_force = !key_.empty() && key_ != "METHOD=NONE";
  if (!read.segments.empty() && read.segments.back().program_date_time_ms) {
    resume_info_.pdt_end_ms =
        *read.segments.back().program_date_time_ms + read.segments.back().duration_ms;
  }
}

Status Playlist::PrepareDirectory(const std::string& file_path) const {
  if (file_path.empty() || HasControlCharacter(file_path)) {
    return Status::InvalidArgument(
        "segment file path \"" + file_path + "\" " +
        (file_path.empty() ? "is empty" : "contains a control character"));
  }
  const std::string dir = DirName(file_path);
  Status s = env_->CreateDir(dir);
  if (!s.ok()) return s;
  s = ProbeCreate(env_, dir, TempFilePrefix(options_.path) + "probe1.tmp");
  if (!s.ok()) return Status::IOError(dir, "create a file", s.os_errno());
  return Status::OK();
}

Status Playlist::UriForFile(const std::string& file_path, std::string* uri) const {
  std::string real_dir;
  Status s = env_->RealPath(DirName(file_path), &real_dir);
  if (!s.ok()) return s;
  const std::string rel = RelativeDir(real_dir_, real_dir);
  *uri = rel.empty() ? BaseName(file_path) : rel + "/" + BaseName(file_path);
  return Status::OK();
}

Playlist::Playlist(PlaylistOptions options, PlaylistType type, Env* env,
                   std::shared_ptr<Store> store, std::string real_dir)
    : options_(std::move(options)),
      type_(type),
      env_(env),
      store_(std::move(store)),
      real_dir_(std::move(real_dir)),
      floor_target_duration_(CeilPrintedSeconds(
          std::llround(options_.target_duration * 1000.0))),
      append_only_(type != PlaylistType::kLive) {
  {
    MutexLock wl(&write_mu_);
    body_end_sequence_ = options_.start_sequence;
  }
  MutexLock l(&mu_);
  media_sequence_ = options_.start_sequence;
  next_sequence_ = options_.start_sequence;
  target_duration_ = floor_target_duration_;
}

Playlist::~Playlist() = default;

void Playlist::Log(LogLevel level, std::string_view message) const {
  if (options_.log) options_.log(level, message);
}

Status Playlist::SegmentRefused(std::string_view uri, const std::string& why) const {
  return Status::InvalidArgument(options_.path + ": segment \"" + std::string(uri) +
                                 "\": " + why);
}

Status Playlist::CheckSegment(const SegmentInput& segment,
                              std::string* encoded) const {
  auto invalid = [&](const std::string& why) { return SegmentRefused(segment.uri, why); };
  Status s = EncodeUri(segment.uri, encoded);
  if (!s.ok()) return invalid(s.message());
  if (!std::isfinite(segment.duration) ||
      segment.duration < kMinSegmentDuration ||
      segment.duration > HLSBRIDGE_MAX_SEGMENT_DURATION) {
    return invalid("duration " + FormatDouble(segment.duration) +
                   " s is not a number in [0.001, 1e6]");
  }
  if (segment.program_date_time_ms) {
    s = ValidateProgramDateTime(*segment.program_date_time_ms,
                                options_.pdt_utc_offset_minutes);
    if (!s.ok()) return invalid(s.message());
  }
  if (HasControlCharacter(segment.file_path)) {
    return invalid("file path contains a control character");
  }
  MutexLock l(&mu_);
  if (finished_) return invalid("added after the playlist was finished");
  return Status::OK();
}

Status Playlist::CheckMap(std::string_view uri, std::string_view file_path,
                          std::string* encoded) const {
  auto invalid = [&](const std::string& why) {
    return Status::InvalidArgument(options_.path + ": init section \"" +
                                   std::string(uri) + "\": " + why);
  };
  Status s = EncodeUri(uri, encoded);
  if (!s.ok()) return invalid(s.message());
  if (HasControlCharacter(file_path)) {
    return invalid("file path contains a control character");
  }
  MutexLock l(&mu_);
  if (finished_) return invalid("set after the playlist was finished");
  return Status::OK();
}

Status Playlist::SetMap(std::string_view uri, std::string_view file_path) {
  std::string encoded;
  Status s = CheckMap(uri, file_path, &encoded);
  if (!s.ok()) return s;
  auto map = std::make_shared<Map>(
      Map{options_.base_url + encoded, std::string(file_path)});
  MutexLock l(&mu_);
  if (finished_) {
    return Status::InvalidArgument(options_.path + ": init section \"" +
                                   std::string(uri) +
                                   "\": set after the playlist was finished");
  }
  // The map it replaces stays until the last segment that needs it goes;
  // a map set again with the same file is not a replacement.
  if (map_ && options_.delete_segments && !map_->file_path.empty() &&
      map_->file_path != map->file_path) {
    retired_maps_.push_back(std::move(map_));
  }
  map_ = std::move(map);
  return Status::OK();
}

Status Playlist::CheckKey(const KeyInput& key) const {
  if (!key.uri.empty()) {
    Status s = ValidateKeyUri(key.uri);
    if (!s.ok()) return Status::InvalidArgument(options_.path + ": " + s.message());
  }
  if (HasControlCharacter(key.file_path)) {
    return Status::InvalidArgument(options_.path + ": key file path \"" +
                                   key.file_path + "\" contains a control character");
  }
  MutexLock l(&mu_);
  if (finished_) {
    return Status::InvalidArgument(options_.path + ": key set after the playlist was finished");
  }
  return Status::OK();
}

Status Playlist::SetKey(const KeyInput& key) {
  Status s = CheckKey(key);
  if (!s.ok()) return s;
  std::string attributes = KeyAttributes(key.uri, key.iv);
  MutexLock l(&mu_);
  key_ = std::move(attributes);
  return Status::OK();
}

Status Playlist::AddSegment(const SegmentInput& segment) {
  std::string encoded;
  Status s = CheckSegment(segment, &encoded);
  if (!s.ok()) return s;
  const std::string name(segment.uri);

  std::string warning;
  LogLevel warning_level = LogLevel::kWarning;
  std::string notice;
  {
    MutexLock l(&mu_);
    // Again under the lock that adds: a Finish() may have come in between.
    if (finished_) return SegmentRefused(name, "added after the playlist was finished");
    Entry e;
    e.sequence = next_sequence_++;
    e.rendered.uri = options_.base_url + encoded;
    // Print from rounded cumulative times so that any run of EXTINF values
    // adds up to the real duration within a millisecond, however long the
    // stream runs.
    const double start = timeline_seconds_;
    const double end = start + segment.duration;
    e.rendered.start_ms = std::llround(start * 1000.0);
    e.rendered.end_ms = std::llround(end * 1000.0);
    e.rendered.program_date_time_ms = segment.program_date_time_ms;
    e.rendered.discontinuity = segment.discontinuity;
    e.duration = segment.duration;
    e.file_path = std::string(segment.file_path);
    if (map_) {
      e.map = map_;
      e.rendered.map_uri = map_->uri;
      map_used_ = true;
    }
    e.rendered.key = key_;
    timeline_seconds_ = end;
    if (segment.size_bytes > 0) {
      const double bytes = static_cast<double>(segment.size_bytes);
      peak_bitrate_ = std::max(peak_bitrate_, bytes * 8 / segment.duration);
      sized_bytes_ += bytes;
      sized_seconds_ += segment.duration;
    }

    // RFC 8216 6.2.1: the target duration must not change; it only grows
    // when a segment would otherwise break 4.3.3.1, and that is worth a
    // warning because players may stall on the change.
    const uint64_t needed =
        CeilPrintedSeconds(e.rendered.end_ms - e.rendered.start_ms);
    if (needed > target_duration_) {
      if (floor_target_duration_ > 0 || published_target_duration_ > 0) {
        warning = options_.path + ": target duration grows from " +
                  std::to_string(target_duration_) + " to " +
                  std::to_string(needed) + " s: segment \"" + name +
                  "\" lasts " + FormatDouble(segment.duration) + " s";
        // Before anything is published no client can see a change, so it is
        // worth knowing but not a warning.
        if (published_target_duration_ == 0) warning_level = LogLevel::kInfo;
      }
      target_duration_ = needed;
    }
    window_ms_ += e.rendered.end_ms - e.rendered.start_ms;
    entries_.push_back(std::move(e));

    if (type_ == PlaylistType::kLive && options_.window_size > 0) {
      while (entries_.size() > options_.window_size) {
        Entry& old = entries_.front();
        // RFC 8216 6.2.2: a live playlist must not shrink below three target
        // durations, so a window that is short in time keeps more segments.
        const int64_t old_ms = old.rendered.end_ms - old.rendered.start_ms;
        if (window_ms_ - old_ms <
            static_cast<int64_t>(3 * target_duration_) * 1000) {
          if (!window_widened_) {
            window_widened_ = true;
            notice = options_.path + ": keeping more than " +
                     std::to_string(options_.window_size) +
                     " segments: RFC 8216 6.2.2 needs at least 3 target "
                     "durations (" +
                     std::to_string(3 * target_duration_) +
                     " s) in a live playlist";
          }
          break;
        }
        window_ms_ -= old_ms;
        ++media_sequence_;
        // RFC 8216 6.2.2: removing a segment that carried a discontinuity
        // advances the discontinuity sequence.
        if (old.rendered.discontinuity) ++discontinuity_sequence_;
        if (options_.delete_segments && !old.file_path.empty()) {
          pending_.push_back(PendingDeletion{std::move(old.file_path),
                                             std::move(old.map),
                                             old.sequence, old.duration,
                                             old.longest_playlist,
                                             version_ + 1, std::nullopt});
        }
        entries_.pop_front();
      }
    }
    ++version_;
  }
  if (!warning.empty()) Log(warning_level, warning);
  if (!notice.empty()) Log(LogLevel::kInfo, notice);
  return Status::OK();
}

Snapshot Playlist::SnapshotLocked(uint64_t first_sequence) const {
  Snapshot snap;
  snap.version = version_;
  snap.type = type_;
  snap.media_sequence = media_sequence_;
  snap.discontinuity_sequence = discontinuity_sequence_;
  snap.target_duration = std::max<uint64_t>(target_duration_, 1);
  snap.ended = (finished_ && !options_.omit_endlist) || type_ == PlaylistType::kVod;
  snap.pdt_utc_offset_minutes = options_.pdt_utc_offset_minutes;
  snap.independent_segments = options_.independent_segments;
  // An append-only playlist keeps every segment it ever listed; a live
  // window needs version 6 only while a segment in it has a map.
  snap.has_map = append_only_ ? map_used_
                              : std::any_of(entries_.begin(), entries_.end(),
                                            [](const Entry& e) { return e.map != nullptr; });
  // Sequences are consecutive from media_sequence_ through entries_.
  const size_t skip = static_cast<size_t>(std::min<uint64_t>(
      first_sequence > media_sequence_ ? first_sequence - media_sequence_ : 0,
      entries_.size()));
  snap.segments.reserve(entries_.size() - skip);
  for (auto it = entries_.begin() + static_cast<std::ptrdiff_t>(skip);
       it != entries_.end(); ++it) {
    snap.segments.push_back(it->rendered);
  }
  return snap;
}

std::string Playlist::RenderNow() const {
  Snapshot snap;
  {
    MutexLock l(&mu_);
    snap = SnapshotLocked();
  }
  return Render(snap);
}

void Playlist::Emit(const LogLines& lines) const {
  for (const auto& [level, message] : lines) Log(level, message);
}

Status Playlist::Write() {
  LogLines lines;
  Status s;
  {
    MutexLock wl(&write_mu_);
    s = WriteLocked(&lines);
  }
  // The callback runs without our locks, so it may call back into us.
  Emit(lines);
  return s;
}

Status Playlist::Finish() {
  LogLines lines;
  Status s;
  {
    MutexLock wl(&write_mu_);
    {
      MutexLock l(&mu_);
      if (!finished_) {
        finished_ = true;
        ++version_;
      }
    }
    s = WriteLocked(&lines);
  }
  Emit(lines);
  return s;
}

Status Playlist::WriteLocked(LogLines* lines) {
  Snapshot snap;
  size_t segment_count;
  int64_t window_ms;
  {
    MutexLock l(&mu_);
    snap = SnapshotLocked(append_only_ ? body_end_sequence_ : 0);
    segment_count = entries_.size();
    window_ms = window_ms_;
  }
  // Rendering and I/O happen without mu_, so adding segments never waits for
  // a disk; write_mu_ orders publications, so a later snapshot always lands
  // after an earlier one.
  // New lines go to a string of their own first, so that an allocation that
  // fails half-way leaves body_ as it was.
  std::string lines_text;
  RenderState state = append_only_ ? body_state_ : RenderState();
  for (const RenderedSegment& seg : snap.segments) {
    AppendSegmentLines(seg, snap.pdt_utc_offset_minutes, &state, &lines_text);
  }
  const std::string* body = &lines_text;
  if (append_only_) {
    body_.append(lines_text);
    body_end_sequence_ += snap.segments.size();
    body_state_ = std::move(state);
    body = &body_;
  }
  const std::string header = RenderHeader(snap);
  const std::string_view footer = RenderFooter(snap);
  const size_t bytes = header.size() + body->size() + footer.size();

  const int64_t t0 = env_->NowMicros();
  Status s = store_->Put(options_.path, {header, *body, footer});
  const int64_t now = env_->NowMicros();
  const int64_t latency = now - t0;
  {
    MutexLock l(&mu_);
    last_latency_us_ = latency;
    if (s.ok()) {
      ++writes_ok_;
      last_success_unix_ms_ = env_->NowUnixMicros() / 1000;
      NotePublished(snap, segment_count, window_ms, now);
    } else {
      ++writes_failed_;
    }
  }
  if (s.ok()) {
    lines->emplace_back(
        LogLevel::kInfo,
        "wrote " + options_.path + ": " + std::to_string(bytes) +
            " bytes, media sequence " + std::to_string(snap.media_sequence) +
            ", window " + std::to_string(options_.window_size) + ", " +
            std::to_string(segment_count) + " segments, " +
            std::to_string(latency) + " us");
    DeleteDueFiles(now, lines);
  } else {
    lines->emplace_back(LogLevel::kError, s.message());
  }
  return s;
}

void Playlist::NotePublished(const Snapshot& snap, size_t segment_count,
                             int64_t window_ms, int64_t now_us) {
  published_target_duration_ = snap.target_duration;
  // Only a live window removes segments, so only there do the hold times of
  // RFC 8216 6.2.2 need the lengths of the playlists that listed them.
  if (!options_.delete_segments || type_ != PlaylistType::kLive) return;
  const double total = static_cast<double>(window_ms) / 1000.0;
  const uint64_t first = snap.media_sequence;
  const uint64_t last = first + segment_count;
  for (Entry& e : entries_) {
    if (e.sequence >= first && e.sequence < last) {
      e.longest_playlist = std::max(e.longest_playlist, total);
    }
  }
  for (PendingDeletion& p : pending_) {
    // An older snapshot published late may still list it.
    if (p.sequence >= first && p.sequence < last) {
      p.longest_playlist = std::max(p.longest_playlist, total);
    }
    // RFC 8216 6.2.2: the file must stay available for its duration plus the
    // longest playlist that contained it, counted from the moment a playlist
    // without it is published.
    if (!p.deadline_us && p.removed_in_version <= snap.version) {
      p.deadline_us =
          now_us + static_cast<int64_t>(
                       std::ceil((p.duration + p.longest_playlist) * 1e6));
    }
  }
}

void Playlist::DeleteDueFiles(int64_t now_us, LogLines* lines) {
  std::vector<std::string> due;
  {
    MutexLock l(&mu_);
    // Candidates are all but the newest keep_removed_segments; the due
    // ones among them go.
    const size_t keep = std::min<size_t>(options_.keep_removed_segments, pending_.size());
    const auto candidates_end = pending_.end() - static_cast<std::ptrdiff_t>(keep);
    const auto due_begin = std::stable_partition(
        pending_.begin(), candidates_end, [now_us](const PendingDeletion& p) {
          return !(p.deadline_us && *p.deadline_us <= now_us);
        });
    for (auto d = due_begin; d != candidates_end; ++d) {
      due.push_back(std::move(d->file_path));
    }
    pending_.erase(due_begin, candidates_end);
    // After the segments: a map goes with the last one that needed it.
    for (std::string& file : TakeUnusedMapFiles()) due.push_back(std::move(file));
  }
  std::vector<FailedDeletion> failed = TakeDueRetries(now_us);
  for (const std::string& file : due) failed.push_back(FailedDeletion{file, 0, 0});
  uint64_t deleted = 0;
  for (FailedDeletion& d : failed) {
    if (!d.file_path.empty() && !DeleteOne(&d, now_us, lines)) continue;
    ++deleted;
  }
  if (deleted > 0) {
    MutexLock l(&mu_);
    files_deleted_ += deleted;
  }
}

std::vector<Playlist::FailedDeletion> Playlist::TakeDueRetries(int64_t now_us) {
  MutexLock l(&mu_);
  auto due = std::stable_partition(
      failed_deletions_.begin(), failed_deletions_.end(),
      [now_us](const FailedDeletion& d) { return d.next_us > now_us; });
  std::vector<FailedDeletion> taken(std::make_move_iterator(due),
                                    std::make_move_iterator(failed_deletions_.end()));
  failed_deletions_.erase(due, failed_deletions_.end());
  return taken;
}

bool Playlist::DeleteOne(FailedDeletion* d, int64_t now_us, LogLines* lines) {
  Status s = store_->Delete(d->file_path);
  if (s.ok()) {
    lines->emplace_back(LogLevel::kDebug, "deleted " + d->file_path);
    return true;
  }
  // A failure that may heal is tried again later (1, 2, 4... s after), a
  // bounded number of times; publishing never waits for it.
  ++d->attempts;
  const bool again = s.os_errno() != EREMOTEIO && d->attempts < kDeleteAttempts;
  lines->emplace_back(again ? LogLevel::kWarning : LogLevel::kError,
                      s.message() + (again ? "; tried again later" : "; left in place"));
  if (again) {
    d->next_us = now_us + (int64_t{1'000'000} << (d->attempts - 1));
    MutexLock l(&mu_);
    failed_deletions_.push_back(std::move(*d));
  }
  return false;
}

std::vector<std::string> Playlist::TakeUnusedMapFiles() {
  std::vector<std::string> files;
  auto unused = std::stable_partition(
      retired_maps_.begin(), retired_maps_.end(),
      [](const std::shared_ptr<const Map>& m) { return m.use_count() > 1; });
  for (auto m = unused; m != retired_maps_.end(); ++m) {
    files.push_back((*m)->file_path);
  }
  retired_maps_.erase(unused, retired_maps_.end());
  return files;
}

int Playlist::DeleteExpired(bool wait) {
  if (wait) {
    std::optional<int64_t> latest;
    {
      MutexLock l(&mu_);
      for (const PendingDeletion& p : pending_) {
        if (p.deadline_us && (!latest || *p.deadline_us > *latest)) {
          latest = p.deadline_us;
        }
      }
      for (const FailedDeletion& d : failed_deletions_) {
        if (!latest || d.next_us > *latest) latest = d.next_us;
      }
    }
    // Sleep without any lock, so writers are not held up meanwhile.
    if (latest) {
      const int64_t left = *latest - env_->NowMicros();
      if (left > 0) env_->SleepForMicros(left);
    }
  }
  LogLines lines;
  {
    MutexLock wl(&write_mu_);
    DeleteDueFiles(env_->NowMicros(), &lines);
  }
  Emit(lines);
  MutexLock l(&mu_);
  return static_cast<int>(pending_.size() + failed_deletions_.size());
}

PlaylistStats Playlist::GetStats() const {
  MutexLock l(&mu_);
  PlaylistStats st;
  st.writes_ok = writes_ok_;
  st.writes_failed = writes_failed_;
  st.last_write_latency_us = last_latency_us_;
  st.last_success_unix_ms = last_success_unix_ms_;
  st.media_sequence = media_sequence_;
  st.discontinuity_sequence = discontinuity_sequence_;
  st.target_duration = std::max<uint64_t>(target_duration_, 1);
  st.segment_count = static_cast<unsigned>(entries_.size());
  st.pending_deletions = static_cast<unsigned>(pending_.size() + failed_deletions_.size());
  st.files_deleted = files_deleted_;
  st.finished = finished_;
  st.peak_bitrate = static_cast<uint64_t>(std::ceil(peak_bitrate_));
  if (sized_seconds_ > 0) {
    st.average_bitrate =
        static_cast<uint64_t>(std::ceil(sized_bytes_ * 8 / sized_seconds_));
  }
  return st;
}

}  // namespace hlsbridge
