// The POSIX Env on a real file system, the path helpers, and Status: every
// failure names the path and the step and keeps the OS's errno.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "env.h"
#include "status.h"
#include "test_util.h"

namespace hlsbridge {
namespace {

using testing::ListDir;
using testing::ReadFileOrDie;
using testing::ScratchDir;
using testing::WriteFileOrDie;

Env* env() { return Env::Default(); }

TEST(EnvPosixTest, CreateDirMakesParentsAndAcceptsAnExistingOne) {
  ScratchDir dir;
  ASSERT_TRUE(env()->CreateDir(dir.File("a/b/c")).ok());
  struct stat st;
  ASSERT_EQ(::stat(dir.File("a/b/c").c_str(), &st), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  EXPECT_TRUE(env()->CreateDir(dir.File("a/b")).ok());
}

TEST(EnvPosixTest, CreateDirUnderAFileFailsNamingIt) {
  ScratchDir dir;
  WriteFileOrDie(dir.File("f"), "x");
  Status s = env()->CreateDir(dir.File("f/sub"));
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.os_errno(), ENOTDIR);
  EXPECT_NE(s.message().find(dir.File("f")), std::string::npos) << s.message();
}

TEST(EnvPosixTest, WritableFileIsExclusiveAndWritesAllOfIt) {
  ScratchDir dir;
  std::unique_ptr<WritableFile> f;
  ASSERT_TRUE(env()->NewWritableFile(dir.File("x"), &f).ok());
  const std::string big(1 << 20, 'y');
  ASSERT_TRUE(f->Append("abc").ok());
  ASSERT_TRUE(f->Append(big).ok());
  ASSERT_TRUE(f->Sync().ok());
  ASSERT_TRUE(f->Close().ok());
  EXPECT_EQ(ReadFileOrDie(dir.File("x")), "abc" + big);

  std::unique_ptr<WritableFile> again;
  Status s = env()->NewWritableFile(dir.File("x"), &again);
  EXPECT_EQ(s.os_errno(), EEXIST);
  EXPECT_EQ(s.message(), dir.File("x") + ": open: " + std::string(strerror(EEXIST)));
}

TEST(EnvPosixTest, RenameLinkRemoveAndChildren) {
  ScratchDir dir;
  WriteFileOrDie(dir.File("a"), "1");
  WriteFileOrDie(dir.File("b"), "2");
  ASSERT_TRUE(env()->RenameFile(dir.File("a"), dir.File("b")).ok());
  EXPECT_EQ(ReadFileOrDie(dir.File("b")), "1");
  EXPECT_FALSE(env()->FileExists(dir.File("a")));
  ASSERT_TRUE(env()->LinkFile(dir.File("b"), dir.File("c")).ok());
  std::vector<std::string> names;
  ASSERT_TRUE(env()->GetChildren(dir.path(), &names).ok());
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"b", "c"}));
  ASSERT_TRUE(env()->RemoveFile(dir.File("c")).ok());
  Status s = env()->RemoveFile(dir.File("c"));
  EXPECT_EQ(s.os_errno(), ENOENT);
  EXPECT_NE(s.message().find(": remove: "), std::string::npos);
  EXPECT_EQ(env()->RenameFile(dir.File("nope"), dir.File("b")).os_errno(), ENOENT);
  EXPECT_EQ(env()->GetChildren(dir.File("nope"), &names).os_errno(), ENOENT);
}

TEST(EnvPosixTest, OpenedFileIsSyncedEvenAfterARename) {
  ScratchDir dir;
  WriteFileOrDie(dir.File("seg.ts"), "media");
  std::unique_ptr<SyncableFile> file, d;
  ASSERT_TRUE(env()->OpenForSync(dir.File("seg.ts"), false, &file).ok());
  ASSERT_TRUE(env()->OpenForSync(dir.path(), true, &d).ok());
  ASSERT_TRUE(env()->RenameFile(dir.File("seg.ts"), dir.File("moved.ts")).ok());
  file->StartWriteback();
  EXPECT_TRUE(file->Sync().ok());
  EXPECT_TRUE(d->Sync().ok());
  EXPECT_TRUE(env()->SyncDir(dir.path()).ok());
}

TEST(EnvPosixTest, SyncFailuresNameThePathAndStep) {
  ScratchDir dir;
  std::unique_ptr<SyncableFile> file;
  Status s = env()->OpenForSync(dir.File("gone.ts"), false, &file);
  EXPECT_EQ(s.os_errno(), ENOENT);
  EXPECT_EQ(s.message().rfind(dir.File("gone.ts") + ": fsync: ", 0), 0u) << s.message();
  WriteFileOrDie(dir.File("f"), "x");
  s = env()->OpenForSync(dir.File("f"), true, &file);
  EXPECT_EQ(s.os_errno(), ENOTDIR);
  EXPECT_NE(s.message().find(": fsync dir: "), std::string::npos);
  s = env()->SyncDir(dir.File("gone"));
  EXPECT_EQ(s.os_errno(), ENOENT);
  EXPECT_NE(s.message().find(": fsync dir: "), std::string::npos);
}

TEST(EnvPosixTest, RealPathResolvesDotsAndLinks) {
  ScratchDir dir;
  ASSERT_TRUE(env()->CreateDir(dir.File("real/sub")).ok());
  ASSERT_EQ(::symlink(dir.File("real").c_str(), dir.File("link").c_str()), 0);
  std::string base, resolved;
  ASSERT_TRUE(env()->RealPath(dir.path(), &base).ok());
  ASSERT_TRUE(env()->RealPath(dir.File("link/sub/.."), &resolved).ok());
  EXPECT_EQ(resolved, base + "/real");
  Status s = env()->RealPath(dir.File("missing"), &resolved);
  EXPECT_EQ(s.os_errno(), ENOENT);
  EXPECT_NE(s.message().find(": realpath: "), std::string::npos);
}

TEST(EnvPosixTest, ClocksMoveForward) {
  const int64_t t0 = env()->NowMicros();
  env()->SleepForMicros(2000);
  EXPECT_GE(env()->NowMicros() - t0, 2000);
  EXPECT_GT(env()->NowUnixMicros(), int64_t{1600000000} * 1000000);
}

TEST(PathTest, DirNameAndBaseName) {
  EXPECT_EQ(DirName("a/b/c.m3u8"), "a/b");
  EXPECT_EQ(DirName("c.m3u8"), ".");
  EXPECT_EQ(DirName("/c.m3u8"), "/");
  EXPECT_EQ(DirName("a//c.m3u8"), "a");
  EXPECT_EQ(BaseName("a/b/c.m3u8"), "c.m3u8");
  EXPECT_EQ(BaseName("c.m3u8"), "c.m3u8");
}

TEST(PathTest, RelativeDirComparesWholeComponents) {
  EXPECT_EQ(RelativeDir("/a/b", "/a/b"), "");
  EXPECT_EQ(RelativeDir("/a/b", "/a/b/seg"), "seg");
  EXPECT_EQ(RelativeDir("/a/b/c", "/a/x/y"), "../../x/y");
  EXPECT_EQ(RelativeDir("/a/b", "/a/bc"), "../bc");
  EXPECT_EQ(RelativeDir("/", "/a"), "a");
  EXPECT_EQ(RelativeDir("/a", "/"), "..");
}

TEST(StatusTest, CodesMessagesAndErrno) {
  EXPECT_TRUE(Status::OK().ok());
  EXPECT_EQ(Status::OK().ToNegativeErrno(), 0);
  EXPECT_EQ(Status::OK().ToString(), "OK");

  Status bad = Status::InvalidArgument("x.ts: duration 0");
  EXPECT_FALSE(bad.ok());
  EXPECT_EQ(bad.ToNegativeErrno(), -EINVAL);
  EXPECT_EQ(bad.os_errno(), 0);
  EXPECT_EQ(bad.message(), "x.ts: duration 0");

  Status io = Status::IOError("out/index.m3u8", "fsync", ENOSPC);
  EXPECT_EQ(io.ToNegativeErrno(), -ENOSPC);
  EXPECT_EQ(io.os_errno(), ENOSPC);
  EXPECT_EQ(io.message(), "out/index.m3u8: fsync: " + std::string(strerror(ENOSPC)));
  // An I/O error without an errno still reports one.
  EXPECT_EQ(Status::IOError("p", "write", 0).ToNegativeErrno(), -EIO);

  EXPECT_EQ(Status::NoMemory("publisher").ToNegativeErrno(), -ENOMEM);
}

}  // namespace
}  // namespace hlsbridge
