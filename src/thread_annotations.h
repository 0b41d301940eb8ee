// Clang thread-safety annotations (no-ops elsewhere), and a mutex that carries
// them: std::mutex in libstdc++ is not annotated, so -Wthread-safety could not
// check anything that locks it directly.
#ifndef HLSBRIDGE_SRC_THREAD_ANNOTATIONS_H_
#define HLSBRIDGE_SRC_THREAD_ANNOTATIONS_H_

#include <condition_variable>
#include <mutex>

#if defined(__clang__)
#define HLSB_TSA(x) __attribute__((x))
#else
#define HLSB_TSA(x)
#endif

#define CAPABILITY(x) HLSB_TSA(capability(x))
#define SCOPED_CAPABILITY HLSB_TSA(scoped_lockable)
#define GUARDED_BY(x) HLSB_TSA(guarded_by(x))
#define REQUIRES(...) HLSB_TSA(requires_capability(__VA_ARGS__))
#define EXCLUDES(...) HLSB_TSA(locks_excluded(__VA_ARGS__))
#define ACQUIRE(...) HLSB_TSA(acquire_capability(__VA_ARGS__))
#define RELEASE(...) HLSB_TSA(release_capability(__VA_ARGS__))

namespace hlsbridge {

class CAPABILITY("mutex") Mutex {
 public:
  Mutex() = default;
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;

  void Lock() ACQUIRE() { mu_.lock(); }
  void Unlock() RELEASE() { mu_.unlock(); }

 private:
  friend class CondVar;
  std::mutex mu_;
};

// A condition variable used with a Mutex, which Wait() requires held.
class CondVar {
 public:
  CondVar() = default;
  CondVar(const CondVar&) = delete;
  CondVar& operator=(const CondVar&) = delete;

  // Releases *mu while waiting; holds it again on return. May wake
  // spuriously: callers wait in a loop on their condition. Every waiter of
  // one CondVar passes the same Mutex.
  void Wait(Mutex* mu) REQUIRES(mu) {
    std::unique_lock<std::mutex> lock(mu->mu_, std::adopt_lock);
    cv_.wait(lock);
    lock.release();
  }
  void Signal() { cv_.notify_one(); }
  void SignalAll() { cv_.notify_all(); }

 private:
  std::condition_variable cv_;
};

class SCOPED_CAPABILITY MutexLock {
 public:
  explicit MutexLock(Mutex* mu) ACQUIRE(mu) : mu_(mu) { mu_->Lock(); }
  ~MutexLock() RELEASE() { mu_->Unlock(); }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

 private:
  Mutex* const mu_;
};

}  // namespace hlsbridge

#endif  // HLSBRIDGE_SRC_THREAD_ANNOTATIONS_H_
