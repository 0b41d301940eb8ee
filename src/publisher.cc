#include "publisher.h"

#include <algorithm>
#include <cerrno>
#include <map>
#include <utility>

namespace hlsbridge {

namespace {

PublisherOptions Sanitized(PublisherOptions o) {
  o.max_queued = std::max<size_t>(o.max_queued, 1);
  return o;
}

// The Playlist's view of a submitted segment (valid while `f` lives).
SegmentInput InputOf(const SegmentFile& f) {
  SegmentInput in;
  in.uri = f.uri;
  in.duration = f.duration;
  in.program_date_time_ms = f.program_date_time_ms;
  in.discontinuity = f.discontinuity;
  in.file_path = f.file_path;
  in.size_bytes = f.size_bytes;
  return in;
}

}  // namespace

Publisher::Publisher(Playlist* playlist, Env* env, PublisherOptions options)
    : playlist_(playlist),
      env_(env),
      options_(Sanitized(options)),
      // A continued playlist's map in force: a new init section with the
      // same bytes keeps it (see SetMap()).
      map_file_(playlist->resume_info().map_file) {}

Publisher::~Publisher() {
  {
    MutexLock l(&mu_);
    stop_ = true;
    work_cv_.SignalAll();
  }
  if (thread_.joinable()) thread_.join();
}

Status Publisher::Submit(SegmentFile segment) {
  std::string encoded;
  Status s = playlist_->CheckSegment(InputOf(segment), &encoded);
  if (!s.ok()) {
    // The caller reports s; the file goes, and with it the media in it.
    {
      MutexLock l(&mu_);
      ++segments_lost_;
    }
    Job discard;
    discard.kind = Job::Kind::kDiscard;
    discard.segment.file_path = std::move(segment.file_path);
    (void)Enqueue(std::move(discard));
    return s;
  }
  Job job;
  job.segment = std::move(segment);
  job.submitted_us = env_->NowMicros();
  OpenForSync(&job);
  const SegmentFile kept = job.segment;
  if (Enqueue(std::move(job))) return Status::OK();
  return Drop(kept);
}

Status Publisher::Drop(const SegmentFile& segment) {
  RemoveFile(segment.file_path);
  {
    MutexLock l(&mu_);
    ++segments_lost_;
    drop_pending_ = true;  // the next segment queued is marked
  }
  return Status::IOError(
      EAGAIN, playlist_->path() + ": segment \"" + segment.uri + "\": dropped: " +
                  std::to_string(options_.max_queued) +
                  " earlier ones still wait for publication; the next segment "
                  "starts a discontinuity");
}

Status Publisher::SubmitMap(SegmentFile map) {
  std::string encoded;
  Status s = playlist_->CheckMap(map.uri, map.file_path, &encoded);
  if (!s.ok()) {
    RefuseMap(std::move(map.file_path), s);
    return s;
  }
  Job job;
  job.kind = Job::Kind::kMap;
  job.segment = std::move(map);
  OpenForSync(&job);
  (void)Enqueue(std::move(job));
  return Status::OK();
}

void Publisher::RefuseMap(std::string file_path, const Status& why) {
  // As for a refused segment: the file goes, and the segments that would
  // need it are lost on the worker until the next map.
  Job lost;
  lost.kind = Job::Kind::kMap;
  lost.segment.file_path = std::move(file_path);
  lost.opened = why;
  lost.refused = true;
  (void)Enqueue(std::move(lost));
}

Status Publisher::SubmitKey(KeyInput key) {
  Job job;
  job.kind = Job::Kind::kKey;
  job.segment.uri = key.uri;
  job.segment.file_path = key.file_path;
  job.key = std::move(key);
  Status s = playlist_->CheckKey(job.key);
  if (!s.ok()) {
    // As for a refused map: the segments after it are lost until the next.
    job.opened = s;
    job.refused = true;
    (void)Enqueue(std::move(job));
    return s;
  }
  OpenForSync(&job);
  (void)Enqueue(std::move(job));
  return Status::OK();
}

void Publisher::OpenForSync(Job* job) {
  const std::string& path = job->segment.file_path;
  if (!options_.sync_files || path.empty() || !playlist_->store()->local()) return;
  // A failure here loses the file on the worker, in order.
  job->opened = env_->OpenForSync(path, false, &job->file);
  if (job->opened.ok()) job->opened = env_->OpenForSync(DirName(path), true, &job->dir);
}

Status Publisher::Discard(std::string file_path) {
  if (options_.drop_when_full) {
    RemoveFile(file_path);
    MutexLock l(&mu_);
    drop_pending_ = true;
    return Status::OK();
  }
  Job job;
  job.kind = Job::Kind::kDiscard;
  job.segment.file_path = std::move(file_path);
  (void)Enqueue(std::move(job));
  return Status::OK();
}

Status Publisher::Finish() {
  Job job;
  job.kind = Job::Kind::kFinish;
  (void)Enqueue(std::move(job));
  Drain();
  MutexLock l(&mu_);
  return finish_status_;
}

bool Publisher::Enqueue(Job job) {
  MutexLock l(&mu_);
  if (options_.drop_when_full) {
    if (job.kind == Job::Kind::kSegment && Full()) return false;
    if (job.kind == Job::Kind::kSegment && drop_pending_) {
      job.segment.discontinuity = true;
      drop_pending_ = false;
    }
  } else {
    // Back-pressure: the caller waits while the worker is max_queued behind.
    while (Full()) done_cv_.Wait(&mu_);
  }
  if (!started_) {
    // Before queuing: if the thread cannot start (a process limit), the
    // caller gets the error and nothing waits for a worker that never runs.
    thread_ = std::thread([this] { Run(); });
    started_ = true;
  }
  queue_.push_back(std::move(job));
  ++enqueued_;
  work_cv_.Signal();
  return true;
}

void Publisher::Drain() {
  MutexLock l(&mu_);
  const uint64_t target = enqueued_;
  while (finished_ < target) done_cv_.Wait(&mu_);
}

Status Publisher::TakeError() {
  MutexLock l(&mu_);
  if (!error_) return Status::OK();
  Status s = std::move(*error_);
  error_.reset();
  return s;
}

PublisherStats Publisher::GetStats() const {
  MutexLock l(&mu_);
  PublisherStats st;
  st.queued = static_cast<unsigned>(queue_.size() + in_progress_);
  st.segments_listed = segments_listed_;
  st.segments_lost = segments_lost_;
  st.maps_lost = maps_lost_;
  st.keys_lost = keys_lost_;
  st.latency_samples = latencies_.size();
  st.latency_max_us = latency_max_us_;
  if (!latencies_.empty()) {
    std::vector<int64_t> sorted = latencies_;
    std::sort(sorted.begin(), sorted.end());
    auto rank = [&](double q) {
      size_t i = static_cast<size_t>(q * static_cast<double>(sorted.size() - 1) + 0.5);
      return sorted[std::min(i, sorted.size() - 1)];
    };
    st.latency_p50_us = rank(0.50);
    st.latency_p99_us = rank(0.99);
  }
  return st;
}

void Publisher::Run() {
  for (;;) {
    std::deque<Job> batch;
    {
      MutexLock l(&mu_);
      while (queue_.empty() && !stop_) work_cv_.Wait(&mu_);
      if (queue_.empty()) return;  // stopping, and nothing left to do
      // Everything waiting goes in one batch (a swap: no allocation): one
      // playlist write covers it, so a slow disk makes fewer, larger
      // publications.
      batch.swap(queue_);
      in_progress_ = batch.size();
    }
    try {
      Process(&batch);
    } catch (...) {
      // Out of memory on the worker: the previous playlist stays; what this
      // batch still held is neither listed nor removed, and a finish in it
      // fails.
      const Status s = Status::NoMemory("segment publisher: out of memory");
      RecordError(s);
      discontinuity_pending_ = true;
      MutexLock l(&mu_);
      finish_status_ = s;
    }
    MutexLock l(&mu_);
    finished_ += in_progress_;
    in_progress_ = 0;
    done_cv_.SignalAll();
  }
}

void Publisher::Process(std::deque<Job>* batch) {
  // Files first (all of them, so their writeback overlaps), then the jobs in
  // order, so that a lost segment marks the one after it, not one before.
  std::vector<Status> durable(batch->size());
  if (!playlist_->store()->local()) {
    Upload(*batch, &durable);
  } else if (options_.sync_files) {
    MakeDurable(*batch, &durable);
  }

  bool added = false;  // a segment the playlist on disk does not list yet
  for (size_t i = 0; i < batch->size(); ++i) {
    Job& job = (*batch)[i];
    if (job.kind == Job::Kind::kDiscard) {
      Lose(job, Status::OK());
    } else if (job.kind == Job::Kind::kMap) {
      SetMap(job, job.opened.ok() ? durable[i] : job.opened);
    } else if (job.kind == Job::Kind::kKey) {
      SetKey(job, job.opened.ok() ? durable[i] : job.opened);
    } else if (job.kind == Job::Kind::kFinish) {
      // One publication lists what came before and ends the playlist.
      Status s = playlist_->Finish();
      if (s.ok()) NotePublished();
      added = false;
      MutexLock l(&mu_);
      finish_status_ = s;
    } else if (!durable[i].ok()) {
      Lose(job, durable[i]);
    } else if (map_lost_ || key_lost_) {
      Lose(job, Status::InvalidArgument(
                    playlist_->path() + ": segment \"" + job.segment.uri + "\": its " +
                    (map_lost_ ? "init section" : "key") + " was lost"));
    } else {
      added |= AddSegment(job);
    }
  }
  if (!added) return;

  Status s = playlist_->Write();
  if (!s.ok()) {
    // The core has logged the cause; the segments stay in the state and
    // the next write (the next segment, or finish) publishes them.
    RecordError(s);
    return;
  }
  NotePublished();
}

bool Publisher::AddSegment(const Job& job) {
  SegmentInput in = InputOf(job.segment);
  in.discontinuity |= discontinuity_pending_;
  Status s = playlist_->AddSegment(in);
  if (!s.ok()) {
    Lose(job, s);
    return false;
  }
  discontinuity_pending_ = false;
  unpublished_.push_back(job.submitted_us);
  MutexLock l(&mu_);
  ++segments_listed_;
  return true;
}

void Publisher::SetMap(const Job& job, const Status& durable) {
  const std::string& path = job.segment.file_path;
  Status s = durable;
  if (s.ok() && SameAsCurrentMap(path)) {
    // A segment muxer started again with the same codec parameters: the
    // map in force serves, and players see no change.
    Log(LogLevel::kDebug, "init section \"" + job.segment.uri +
                              "\" is identical to the one in force; removed");
    RemoveFile(path);
    return;
  }
  if (s.ok()) s = playlist_->SetMap(job.segment.uri, path);
  if (s.ok()) {
    map_file_ = path;
    map_lost_ = false;
    return;
  }
  map_lost_ = true;
  LoseSection(job, s, "init section");
  // The file of the map in force, set again, is still named by playlists.
  if (path != map_file_) RemoveFile(path);
}

void Publisher::SetKey(const Job& job, const Status& durable) {
  Status s = durable;
  if (s.ok()) s = playlist_->SetKey(job.key);
  if (s.ok()) {
    key_lost_ = false;
    return;
  }
  // The key file is not ours to remove.
  key_lost_ = true;
  LoseSection(job, s, "key");
}

void Publisher::LoseSection(const Job& job, const Status& why, const std::string& what) {
  discontinuity_pending_ = true;
  {
    MutexLock l(&mu_);
    ++(job.kind == Job::Kind::kMap ? maps_lost_ : keys_lost_);
  }
  if (job.refused) return;  // the caller has the error already
  Log(LogLevel::kError, why.message() + ": " + what + " \"" + job.segment.uri +
                            "\" is not listed; the segments that need it are "
                            "left out until the next one");
  RecordError(why);
}

bool Publisher::SameAsCurrentMap(const std::string& path) {
  if (map_lost_ || map_file_.empty() || path.empty() || path == map_file_) {
    return false;
  }
  std::string current, next;
  return env_->ReadFile(map_file_, &current).ok() &&
         env_->ReadFile(path, &next).ok() && current == next;
}

void Publisher::NotePublished() {
  const int64_t now = env_->NowMicros();
  MutexLock l(&mu_);
  for (int64_t submitted : unpublished_) {
    const int64_t latency = now - submitted;
    if (latencies_.size() < kLatencySamples) {
      latencies_.push_back(latency);
    } else {
      latencies_[latency_count_ % kLatencySamples] = latency;
    }
    ++latency_count_;
    latency_max_us_ = std::max(latency_max_us_, latency);
  }
  unpublished_.clear();
}

void Publisher::MakeDurable(const std::deque<Job>& batch,
                            std::vector<Status>* durable) {
  auto syncs = [](const Job& job) {
    return job.kind != Job::Kind::kDiscard && job.kind != Job::Kind::kFinish &&
           !job.segment.file_path.empty();
  };
  // Start the writeback of every file before waiting for any: the disk sees
  // them all at once, and the first fdatasync's journal commit covers the
  // others' sizes too.
  for (const Job& job : batch) {
    if (syncs(job) && job.opened.ok()) job.file->StartWriteback();
  }
  std::map<std::string, std::vector<size_t>> dirs;  // directory -> jobs
  for (size_t i = 0; i < batch.size(); ++i) {
    const Job& job = batch[i];
    if (!syncs(job)) continue;
    (*durable)[i] = job.opened.ok() ? job.file->Sync() : job.opened;
    if ((*durable)[i].ok()) dirs[DirName(job.segment.file_path)].push_back(i);
  }
  // A directory entry is durable only once its directory is synced: one
  // fsync per directory covers every file of the batch in it.
  for (const auto& [dir, in_dir] : dirs) {
    Status s = batch[in_dir.front()].dir->Sync();
    if (s.ok()) continue;
    for (size_t i : in_dir) (*durable)[i] = s;
  }
}

void Publisher::Upload(const std::deque<Job>& batch, std::vector<Status>* durable) {
  Store* store = playlist_->store();
  for (size_t i = 0; i < batch.size(); ++i) {
    const Job& job = batch[i];
    if (job.kind == Job::Kind::kDiscard || job.kind == Job::Kind::kFinish ||
        job.segment.file_path.empty() || !job.opened.ok()) {
      continue;
    }
    (*durable)[i] = store->PutFile(job.segment.file_path);
    // The spool keeps maps (SameAsCurrentMap) and keys, not media.
    if ((*durable)[i].ok() && job.kind == Job::Kind::kSegment) {
      RemoveFile(job.segment.file_path);
    }
  }
}

// A segment that will never be listed: its file is removed (giving the space
// back, which matters on a full disk) and players are told that the media
// does not follow on. `why` is OK for a discarded file, whose caller has
// already said why.
void Publisher::Lose(const Job& job, const Status& why) {
  discontinuity_pending_ = true;
  const std::string& path = job.segment.file_path;
  if (!why.ok()) {
    Log(LogLevel::kError, why.message() + ": segment \"" + job.segment.uri +
                              "\" is not listed; the next segment starts a "
                              "discontinuity");
    RecordError(why);
  }
  RemoveFile(path);
  if (job.kind == Job::Kind::kSegment) {
    MutexLock l(&mu_);
    ++segments_lost_;
  }
}

void Publisher::RemoveFile(const std::string& path) {
  if (path.empty()) return;
  Status s = env_->RemoveFile(path);
  if (!s.ok() && s.os_errno() != ENOENT) Log(LogLevel::kWarning, s.message());
}

void Publisher::RecordError(const Status& s) {
  MutexLock l(&mu_);
  // The first failure waits to be taken; running out of memory, which stops
  // the caller, is never hidden behind one that it recovers from.
  if (!error_ || s.ToNegativeErrno() == -ENOMEM) error_ = s;
}

void Publisher::Log(LogLevel level, const std::string& message) const {
  playlist_->Log(level, message);
}

}  // namespace hlsbridge
