#include "multivariant.h"

#include <algorithm>
#include <cstdio>

#include "atomic_write.h"
#include "render.h"

namespace hlsbridge {

namespace {

// A refreshed BANDWIDTH is published once a measured peak exceeds the
// published one by more than this factor.
constexpr double kPeakTolerance = 1.10;

void AppendQuoted(std::string_view key, std::string_view value,
                  std::string* out) {
  out->append(",").append(key).append("=\"").append(value).append("\"");
}

// Adds each codec of `more` that `codecs` lacks.
std::string MergeCodecs(std::string codecs, std::string_view more) {
  size_t start = 0;
  while (start < more.size()) {
    size_t end = more.find(',', start);
    if (end == std::string_view::npos) end = more.size();
    const std::string_view one = more.substr(start, end - start);
    bool present = false;
    size_t p = 0;
    while (p <= codecs.size() && !present) {
      size_t q = codecs.find(',', p);
      if (q == std::string::npos) q = codecs.size();
      present = std::string_view(codecs).substr(p, q - p) == one;
      p = q + 1;
    }
    if (!present && !one.empty()) {
      if (!codecs.empty()) codecs += ",";
      codecs.append(one);
    }
    start = end + 1;
  }
  return codecs;
}

void AppendMedia(const Rendition& r, std::string* out) {
  out->append("#EXT-X-MEDIA:TYPE=AUDIO");
  AppendQuoted("GROUP-ID", r.group_id, out);
  AppendQuoted("NAME", r.name, out);
  out->append(r.is_default ? ",DEFAULT=YES" : ",DEFAULT=NO");
  out->append(r.autoselect || r.is_default ? ",AUTOSELECT=YES"
                                           : ",AUTOSELECT=NO");
  if (!r.language.empty()) AppendQuoted("LANGUAGE", r.language, out);
  AppendQuoted("URI", r.uri, out);
  out->append("\n");
}

// BANDWIDTH, AVERAGE-BANDWIDTH and CODECS of a variant with what its audio
// group adds: the largest rates of the group, all of its codecs.
void AppendStreamInf(const Rendition& v, const std::vector<Rendition>& all,
                     std::string* out) {
  uint64_t bandwidth = v.bandwidth, average = v.average_bandwidth;
  uint64_t group_peak = 0, group_average = 0;
  std::string codecs = v.codecs;
  for (const Rendition& a : all) {
    if (a.kind != Rendition::Kind::kAudio || v.audio_group.empty() ||
        a.group_id != v.audio_group) {
      continue;
    }
    group_peak = std::max(group_peak, a.bandwidth);
    group_average = std::max(group_average, a.average_bandwidth);
    codecs = MergeCodecs(std::move(codecs), a.codecs);
  }
  bandwidth += group_peak;
  if (average > 0) average += group_average;
  out->append("#EXT-X-STREAM-INF:BANDWIDTH=").append(std::to_string(bandwidth));
  if (average > 0) {
    out->append(",AVERAGE-BANDWIDTH=").append(std::to_string(average));
  }
  if (!codecs.empty()) AppendQuoted("CODECS", codecs, out);
  if (v.width > 0 && v.height > 0) {
    out->append(",RESOLUTION=")
        .append(std::to_string(v.width))
        .append("x")
        .append(std::to_string(v.height));
  }
  if (v.frame_rate > 0) {
    char rate[32];
    std::snprintf(rate, sizeof(rate), "%.3f", v.frame_rate);
    out->append(",FRAME-RATE=").append(rate);
  }
  if (!v.audio_group.empty()) AppendQuoted("AUDIO", v.audio_group, out);
  out->append("\n").append(v.uri).append("\n");
}

// The BANDWIDTH to publish for one entry, and whether the published one is
// too low by the rules of the class comment.
uint64_t Bandwidth(uint64_t declared, const MeasuredRates& m,
                   Multivariant::Mode mode) {
  if (mode == Multivariant::Mode::kFinal && m.peak > 0) return m.peak;
  return std::max(declared, m.peak);
}

}  // namespace

Status ValidateQuoted(std::string_view what, std::string_view value) {
  for (unsigned char c : value) {
    if (c < 0x20 || c == 0x7f || c == '"') {
      char hex[8];
      std::snprintf(hex, sizeof(hex), "0x%02X", c);
      return Status::InvalidArgument(std::string(what) + " \"" +
                                     (c == '"' ? std::string(value) : "") +
                                     "\" contains " + hex +
                                     ", which cannot be in a quoted string");
    }
  }
  return Status::OK();
}

std::string RenderMultivariant(const std::vector<Rendition>& renditions,
                               bool independent_segments) {
  std::string out = "#EXTM3U\n";
  if (independent_segments) out += "#EXT-X-INDEPENDENT-SEGMENTS\n";
  for (const Rendition& r : renditions) {
    if (r.kind == Rendition::Kind::kAudio) AppendMedia(r, &out);
  }
  for (const Rendition& r : renditions) {
    if (r.kind == Rendition::Kind::kVariant) AppendStreamInf(r, renditions, &out);
  }
  return out;
}

Multivariant::Multivariant(MultivariantOptions options, Env* env,
                           std::shared_ptr<Store> store, std::string real_dir)
    : options_(std::move(options)),
      env_(env),
      store_(std::move(store)),
      real_dir_(std::move(real_dir)) {}

Status Multivariant::Open(const MultivariantOptions& options,
                          std::unique_ptr<Multivariant>* result) {
  result->reset();
  const std::string& path = options.path;
  if (path.empty()) {
    return Status::InvalidArgument("multivariant playlist path is empty");
  }
  if (path.back() == '/' || BaseName(path) == "." || BaseName(path) == "..") {
    return Status::InvalidArgument("multivariant playlist path \"" + path +
                                   "\" names a directory, not a file");
  }
  Status s = ValidateQuoted("multivariant playlist path", path);
  if (!s.ok()) return s;
  Env* env = options.env != nullptr ? options.env : Env::Default();
  const std::string dir = DirName(path);
  if (!(s = env->CreateDir(dir)).ok()) return s;
  std::string real_dir;
  if (!(s = env->RealPath(dir, &real_dir)).ok()) return s;
  if (!(s = RemoveStaleTempFiles(env, path, nullptr)).ok()) return s;
  std::shared_ptr<Store> store = options.store;
  if (!store) {
    AtomicWriteOptions wo;
    wo.sync_file = options.fsync_file;
    wo.sync_dir = options.fsync_dir;
    store = std::make_shared<LocalStore>(env, wo);
  }
  result->reset(new Multivariant(options, env, std::move(store), std::move(real_dir)));
  return Status::OK();
}

Status Multivariant::Add(RenditionInput input) {
  Rendition& r = input.rendition;
  if (!input.measure) {
    return Status::InvalidArgument(options_.path + ": a rendition needs its "
                                   "media playlist");
  }
  Status s;
  if (r.uri.empty()) {
    if (input.playlist_path.empty()) {
      return Status::InvalidArgument(options_.path + ": a rendition needs a "
                                     "URI or its playlist's path");
    }
    std::string real_dir;
    s = env_->RealPath(DirName(input.playlist_path), &real_dir);
    if (!s.ok()) return s;
    const std::string rel = RelativeDir(real_dir_, real_dir);
    r.uri = (rel.empty() ? "" : rel + "/") + BaseName(input.playlist_path);
  }
  std::string encoded;
  if (!(s = EncodeUri(r.uri, &encoded)).ok() ||
      !(s = ValidateQuoted("CODECS", r.codecs)).ok() ||
      !(s = ValidateQuoted("AUDIO group", r.audio_group)).ok() ||
      !(s = ValidateQuoted("GROUP-ID", r.group_id)).ok() ||
      !(s = ValidateQuoted("NAME", r.name)).ok() ||
      !(s = ValidateQuoted("LANGUAGE", r.language)).ok()) {
    return Status::InvalidArgument(options_.path + ": " + s.message());
  }
  if (r.kind == Rendition::Kind::kAudio && (r.group_id.empty() || r.name.empty())) {
    return Status::InvalidArgument(options_.path + ": audio rendition \"" +
                                   r.uri + "\" needs a GROUP-ID and a NAME");
  }
  r.uri = std::move(encoded);
  MutexLock l(&mu_);
  if (!published_.empty()) {
    return Status::InvalidArgument(options_.path + ": renditions are added "
                                   "before the first write");
  }
  entries_.push_back(Entry{std::move(input), 0});
  return Status::OK();
}

Status Multivariant::CheckGroups() const {
  for (const Entry& v : entries_) {
    const Rendition& r = v.input.rendition;
    if (r.kind != Rendition::Kind::kVariant || r.audio_group.empty()) continue;
    const bool found = std::any_of(
        entries_.begin(), entries_.end(), [&](const Entry& a) {
          return a.input.rendition.kind == Rendition::Kind::kAudio &&
                 a.input.rendition.group_id == r.audio_group;
        });
    if (!found) {
      return Status::InvalidArgument(options_.path + ": variant \"" + r.uri +
                                     "\" names audio group \"" + r.audio_group +
                                     "\", which has no audio rendition");
    }
  }
  return Status::OK();
}

Status Multivariant::Update(Mode mode, bool* written) {
  if (written != nullptr) *written = false;
  MutexLock l(&mu_);
  if (entries_.empty()) {
    return Status::InvalidArgument(options_.path + ": no rendition to list");
  }
  Status s = CheckGroups();
  if (!s.ok()) return s;
  if (final_written_) return Status::OK();
  std::vector<MeasuredRates> rates;
  bool due = published_.empty() || mode != Mode::kIfNeeded;
  for (const Entry& e : entries_) {
    rates.push_back(e.input.measure());
    // Not before every playlist that it names exists.
    if (!rates.back().published) return Status::OK();
    due = due || rates.back().peak > e.published_bandwidth * kPeakTolerance;
  }
  if (!due) return Status::OK();

  std::vector<Rendition> renditions;
  for (size_t i = 0; i < entries_.size(); i++) {
    Rendition r = entries_[i].input.rendition;
    r.bandwidth = Bandwidth(entries_[i].input.declared_bandwidth, rates[i], mode);
    r.average_bandwidth = rates[i].average > 0
                              ? rates[i].average
                              : entries_[i].input.declared_bandwidth;
    renditions.push_back(std::move(r));
  }
  const std::string text =
      RenderMultivariant(renditions, options_.independent_segments);
  // Written on the caller's (muxing) thread: while the stream runs, one
  // attempt, and a failure is retried at the next update; at the end, the
  // store's whole retry time.
  s = mode == Mode::kFinal ? store_->Put(options_.path, {text})
                           : store_->PutOnce(options_.path, {text});
  if (!s.ok()) return s;
  for (size_t i = 0; i < entries_.size(); i++) {
    entries_[i].published_bandwidth = renditions[i].bandwidth;
  }
  published_ = text;
  final_written_ = mode == Mode::kFinal;
  if (written != nullptr) *written = true;
  return Status::OK();
}

std::string Multivariant::Published() const {
  MutexLock l(&mu_);
  return published_;
}

}  // namespace hlsbridge
