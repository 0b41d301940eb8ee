// Publisher: lists closed segment files in a Playlist off the caller's
// thread. Each file is made durable (its data, then its directory entry)
// before the playlist that lists it is published, in submission order. The
// caller's thread only opens the file and its directory (no fsync).
#ifndef HLSBRIDGE_SRC_PUBLISHER_H_
#define HLSBRIDGE_SRC_PUBLISHER_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "env.h"
#include "playlist.h"
#include "status.h"
#include "thread_annotations.h"

namespace hlsbridge {

// A segment whose file is complete and closed.
struct SegmentFile {
  std::string uri;
  double duration = 0;
  std::optional<int64_t> program_date_time_ms;
  bool discontinuity = false;
  // The file on the local file system; empty when it is not one (written by
  // an application's own I/O): then nothing is synced or removed.
  std::string file_path;
  uint64_t size_bytes = 0;  // 0: unknown
};

struct PublisherOptions {
  // fsync each file and then its directory before listing it.
  bool sync_files = true;
  // Submit() and Discard() block while this many jobs are queued or in
  // progress, so a stalled disk holds the caller back instead of letting
  // memory grow. At least 1.
  size_t max_queued = 16;
  // Instead of blocking, a segment submitted while max_queued jobs wait is
  // dropped: its file is removed, Submit() says so, and the next listed
  // segment carries EXT-X-DISCONTINUITY. Other jobs (maps, keys, discards:
  // few and small) are then queued past the bound. For a remote store, so
  // that a stalled origin never stalls the encoder.
  bool drop_when_full = false;
};

struct PublisherStats {
  unsigned queued = 0;          // jobs waiting or in progress now
  uint64_t segments_listed = 0;  // added to the playlist
  uint64_t segments_lost = 0;    // refused or not durable: never listed
  uint64_t maps_lost = 0;        // init sections refused or not durable
  uint64_t keys_lost = 0;        // keys refused or not durable
  // Submit() to the first published playlist that lists the segment, over
  // the last kLatencySamples listed segments; 0 when none yet.
  int64_t latency_p50_us = 0;
  int64_t latency_p99_us = 0;
  int64_t latency_max_us = 0;
  uint64_t latency_samples = 0;  // how many of them the figures cover
};

// Thread-safe. The worker thread starts with the first job and ends in the
// destructor, which first finishes every queued job.
class Publisher {
 public:
  static constexpr size_t kLatencySamples = 4096;

  // `playlist` and `env` must outlive the Publisher.
  Publisher(Playlist* playlist, Env* env, PublisherOptions options);
  Publisher(const Publisher&) = delete;
  Publisher& operator=(const Publisher&) = delete;
  ~Publisher();

  // Checks the segment now (Playlist::CheckSegment) and queues it. A refused
  // segment is returned as InvalidArgument; its file is then removed (it
  // will never be listed) and the next listed segment carries
  // EXT-X-DISCONTINUITY. On the worker, a file that cannot be made durable
  // is removed and left out the same way. A failed playlist write leaves
  // the segments in the state; the next write publishes them.
  Status Submit(SegmentFile segment) EXCLUDES(mu_);
  // Queues an init section (fMP4's EXT-X-MAP; `map.duration` and the
  // date-time are not used) for the segments submitted after it. Checked
  // now (Playlist::CheckMap); on the worker it is made durable like a
  // segment before any playlist names it. When its content is identical to
  // the map in force, its file is removed and no new EXT-X-MAP is printed.
  // A map that cannot be made durable is removed, and the segments after it
  // are lost until the next map.
  Status SubmitMap(SegmentFile map) EXCLUDES(mu_);
  // Queues a map refused before it could be submitted (its URI could not be
  // derived, say): as a refused SubmitMap, its file is removed and the
  // segments after it are lost until the next map; the caller reports `why`.
  void RefuseMap(std::string file_path, const Status& why) EXCLUDES(mu_);
  // Queues a key (EXT-X-KEY) for the segments submitted after it, as a map:
  // checked now (Playlist::CheckKey), its file made durable before a
  // playlist names it, the segments after a lost one lost until the next.
  // The key file is never removed.
  Status SubmitKey(KeyInput key) EXCLUDES(mu_);
  // Queues the removal of a file that will not be listed (a segment that
  // could not be written whole); the next listed segment carries
  // EXT-X-DISCONTINUITY. With drop_when_full the file goes at once (a
  // stalled upload must not keep the spool growing) and the next segment
  // queued is marked.
  Status Discard(std::string file_path) EXCLUDES(mu_);
  // True when a Submit() now would drop its segment (drop_when_full and a
  // full queue). Only the worker changes it, towards false.
  bool WouldDrop() const EXCLUDES(mu_) {
    MutexLock l(&mu_);
    return options_.drop_when_full && Full();
  }
  // Waits until every job queued before the call is done.
  void Drain() EXCLUDES(mu_);
  // Lists every segment queued before the call, then finishes the playlist
  // (Playlist::Finish) in the same publication, and returns its status.
  Status Finish() EXCLUDES(mu_);
  // The first failure of the worker not taken yet (and forgets it), or OK.
  Status TakeError() EXCLUDES(mu_);
  PublisherStats GetStats() const EXCLUDES(mu_);

 private:
  struct Job {
    enum class Kind {
      kSegment,  // make durable, list, publish
      kMap,      // make durable, then the map of the segments after it
      kKey,      // make durable, then the key of the segments after it
      kDiscard,  // remove file_path; list nothing
      kFinish,   // Playlist::Finish(): ENDLIST in the batch's one write
    };
    Kind kind = Kind::kSegment;
    SegmentFile segment;
    int64_t submitted_us = 0;
    // The file and its directory, opened at submit (sync_files): what was
    // closed is what is made durable, even if it is renamed before the
    // worker gets to it. `opened` says why they could not be opened.
    std::unique_ptr<SyncableFile> file;
    std::unique_ptr<SyncableFile> dir;
    Status opened;
    // A map or key refused at submit: the caller has its error already.
    bool refused = false;
    KeyInput key;  // kKey
  };

  // Queues a job; with drop_when_full, a segment's is refused (nothing
  // queued, false) when the queue is full.
  bool Enqueue(Job job) EXCLUDES(mu_);
  bool Full() const REQUIRES(mu_) {
    return queue_.size() + in_progress_ >= options_.max_queued;
  }
  // A segment dropped at submit: its file goes now, the next listed segment
  // is marked. Returns the error for the caller.
  Status Drop(const SegmentFile& segment) EXCLUDES(mu_);
  // Puts each file of the batch to a remote store; a segment's spool file
  // goes once it is put. (*durable)[i] as in MakeDurable().
  void Upload(const std::deque<Job>& batch, std::vector<Status>* durable);
  void Run() EXCLUDES(mu_);
  // One batch of jobs taken from the queue at once: files synced, then
  // their directories, then every durable segment added and the playlist
  // published once.
  void Process(std::deque<Job>* batch) EXCLUDES(mu_);
  // Syncs the files of the segments in the batch, then each directory once;
  // (*durable)[i] is the failure that keeps job i's file from being durable.
  void MakeDurable(const std::deque<Job>& batch, std::vector<Status>* durable);
  void Lose(const Job& job, const Status& why) EXCLUDES(mu_);
  // Adds a durable segment to the playlist (or loses it); true when added.
  bool AddSegment(const Job& job) EXCLUDES(mu_);
  // Sets the map or the key of the segments that follow (see SubmitMap,
  // SubmitKey); `durable` says whether its file could be made durable.
  void SetMap(const Job& job, const Status& durable) EXCLUDES(mu_);
  void SetKey(const Job& job, const Status& durable) EXCLUDES(mu_);
  // A map or key that is not listed: the segments after it are lost until
  // the next one (the worker's map_lost_ or key_lost_ says so).
  void LoseSection(const Job& job, const Status& why, const std::string& what)
      EXCLUDES(mu_);
  // The file of the map in force has the same bytes as `path`.
  bool SameAsCurrentMap(const std::string& path);
  // Opens a submitted file and its directory for a later sync.
  void OpenForSync(Job* job);
  // After a successful publication: the latency of each segment it listed.
  void NotePublished() EXCLUDES(mu_);
  void RecordError(const Status& s) EXCLUDES(mu_);
  // Removes a file that will never be listed (none when `path` is empty);
  // a failure other than its absence is logged.
  void RemoveFile(const std::string& path);
  void Log(LogLevel level, const std::string& message) const;

  Playlist* const playlist_;
  Env* const env_;
  const PublisherOptions options_;

  mutable Mutex mu_;
  CondVar work_cv_;  // with mu_: a job was queued, or stop_
  CondVar done_cv_;  // with mu_: a batch was finished
  std::deque<Job> queue_ GUARDED_BY(mu_);
  size_t in_progress_ GUARDED_BY(mu_) = 0;
  uint64_t enqueued_ GUARDED_BY(mu_) = 0;  // jobs ever queued
  uint64_t finished_ GUARDED_BY(mu_) = 0;  // jobs ever done
  bool stop_ GUARDED_BY(mu_) = false;
  // A segment was dropped (drop_when_full): the next one queued follows a
  // gap. (Queuing a marker instead would count against the bound.)
  bool drop_pending_ GUARDED_BY(mu_) = false;
  bool started_ GUARDED_BY(mu_) = false;
  std::optional<Status> error_ GUARDED_BY(mu_);
  Status finish_status_ GUARDED_BY(mu_);  // of the last kFinish job
  uint64_t segments_listed_ GUARDED_BY(mu_) = 0;
  uint64_t segments_lost_ GUARDED_BY(mu_) = 0;
  uint64_t maps_lost_ GUARDED_BY(mu_) = 0;
  uint64_t keys_lost_ GUARDED_BY(mu_) = 0;
  std::vector<int64_t> latencies_ GUARDED_BY(mu_);  // ring of samples
  uint64_t latency_count_ GUARDED_BY(mu_) = 0;
  int64_t latency_max_us_ GUARDED_BY(mu_) = 0;

  // Worker-only state (no lock: only Run() touches it).
  bool discontinuity_pending_ = false;
  std::string map_file_;  // file of the map in force
  bool map_lost_ = false;  // the last map was lost: segments need another
  bool key_lost_ = false;  // the last key was lost: segments need another
  // Submit times of segments added but not yet in a published playlist.
  std::vector<int64_t> unpublished_;
  std::thread thread_;
};

}  // namespace hlsbridge

#endif  // HLSBRIDGE_SRC_PUBLISHER_H_
