// Durable atomic replacement of a small file.
#ifndef HLSBRIDGE_SRC_ATOMIC_WRITE_H_
#define HLSBRIDGE_SRC_ATOMIC_WRITE_H_

#include <initializer_list>
#include <string>
#include <string_view>

#include "env.h"
#include "status.h"

namespace hlsbridge {

struct AtomicWriteOptions {
  bool sync_file = true;  // fsync the temp file before the rename
  bool sync_dir = true;   // fsync the directory after the rename
};

// Prefix of our temp files for the file `path`: their names are
// ".playlist-<basename>-" + 6 characters + ".tmp", in the same directory.
std::string TempFilePrefix(std::string_view path);
// True when `name` (a directory entry) is a temp file of ours for `path`.
bool IsTempFileFor(std::string_view path, std::string_view name);

// Replaces the file at `path` with `data` so that a reader sees either the
// old or the new content, never a mix, and the new content survives a power
// failure once this returns OK.
//
// Steps, each checked, in this order: create a temp file in the same
// directory, write, fsync, close, rename over `path`, fsync the directory.
// On any failure the temp file is removed, the previous file at `path` is
// left as it was (a failed directory fsync rolls the rename back), and the
// first error is returned as "<path>: <step>: <reason>", step being one of
// open, write, fsync, close, rename, fsync dir. The directory must exist.
//
// The rollback after a failed directory fsync is a second rename, so a reader
// polling at that moment may have seen the new content briefly; what stays
// visible matches what the caller was told (the previous playlist), and the
// caller's next successful write publishes the new state again.
Status WriteFileAtomically(Env* env, const std::string& path,
                           std::string_view data,
                           const AtomicWriteOptions& options);
// The same, for content held in several pieces (written in order), so that a
// large playlist kept in parts is not copied into one string first.
Status WriteFileAtomically(Env* env, const std::string& path,
                           std::initializer_list<std::string_view> pieces,
                           const AtomicWriteOptions& options);

// Removes the temp files of ours for `path` that a killed process left
// behind. Returns how many were removed through *removed (may be null).
Status RemoveStaleTempFiles(Env* env, const std::string& path, int* removed);

}  // namespace hlsbridge

#endif  // HLSBRIDGE_SRC_ATOMIC_WRITE_H_
