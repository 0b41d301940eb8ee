// What the C API's source files share: the handle behind hlsbridge_playlist.
#ifndef HLSBRIDGE_SRC_C_API_INTERNAL_H_
#define HLSBRIDGE_SRC_C_API_INTERNAL_H_

#include <memory>
#include <string>

#include "hlsbridge/hlsbridge.h"
#include "playlist.h"
#include "publisher.h"
#include "store.h"
#include "thread_annotations.h"

struct hlsbridge_playlist {
  std::unique_ptr<hlsbridge::Playlist> impl;
  // Destroyed first (declared after impl): drains its queue into impl.
  std::unique_ptr<hlsbridge::Publisher> publisher;
  mutable hlsbridge::Mutex mu;
  std::string last_error GUARDED_BY(mu);
};

struct hlsbridge_target {
  std::shared_ptr<hlsbridge::RemoteStore> store;
};

namespace hlsbridge {
// The message of the last failed open (playlist or multivariant) on this
// thread: hlsbridge_last_open_error().
std::string& OpenErrorOfThisThread();
}  // namespace hlsbridge

#endif  // HLSBRIDGE_SRC_C_API_INTERNAL_H_
