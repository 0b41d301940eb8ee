// One test per failing step of the atomic write, through the file seam, on a
// real directory: the previous playlist stays byte-identical, no temp file is
// left behind, and the error names the path, the step and the OS's reason.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include "atomic_write.h"
#include "playlist.h"
#include "test_util.h"

namespace hlsbridge {
namespace {

using testing::FaultEnv;
using testing::FaultStep;
using testing::ListDir;
using testing::ReadFileOrDie;
using testing::ScratchDir;
using testing::WriteFileOrDie;

struct StepCase {
  FaultStep step;
  const char* name;
  int err;
};

void PrintTo(const StepCase& c, std::ostream* os) { *os << c.name; }

class AtomicWriteFaultTest : public ::testing::TestWithParam<StepCase> {
 protected:
  ScratchDir dir_;
  FaultEnv env_;
};

TEST_P(AtomicWriteFaultTest, FailureKeepsPreviousFileAndLeavesNoTemp) {
  const StepCase& c = GetParam();
  const std::string path = dir_.File("index.m3u8");
  const std::string previous = "#EXTM3U\nprevious\n";
  WriteFileOrDie(path, previous);

  env_.Fail(c.step, c.err);
  Status s = WriteFileAtomically(&env_, path, "#EXTM3U\nnew\n", {});
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(env_.failures(), 1);
  EXPECT_EQ(s.os_errno(), c.err);
  EXPECT_EQ(s.ToNegativeErrno(), -c.err);
  const std::string want = path + ": " + c.name + ": ";
  EXPECT_EQ(s.message().substr(0, want.size()), want) << s.message();
  EXPECT_NE(s.message().find(std::strerror(c.err)), std::string::npos)
      << s.message();

  EXPECT_EQ(ReadFileOrDie(path), previous);
  EXPECT_EQ(ListDir(dir_.path()), std::vector<std::string>{"index.m3u8"});
}

TEST_P(AtomicWriteFaultTest, PlaylistWriteFailureIsCountedAndRecovers) {
  const StepCase& c = GetParam();
  PlaylistOptions o;
  o.path = dir_.File("live.m3u8");
  o.window_size = 3;
  o.env = &env_;
  std::unique_ptr<Playlist> pl;
  ASSERT_TRUE(Playlist::Open(o, &pl).ok());
  SegmentInput seg;
  seg.uri = "a.ts";
  seg.duration = 2;
  ASSERT_TRUE(pl->AddSegment(seg).ok());
  ASSERT_TRUE(pl->Write().ok());
  const std::string good = ReadFileOrDie(o.path);

  seg.uri = "b.ts";
  ASSERT_TRUE(pl->AddSegment(seg).ok());
  env_.Fail(c.step, c.err);
  Status s = pl->Write();
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(ReadFileOrDie(o.path), good);
  EXPECT_EQ(ListDir(dir_.path()), std::vector<std::string>{"live.m3u8"});
  PlaylistStats st = pl->GetStats();
  EXPECT_EQ(st.writes_ok, 1u);
  EXPECT_EQ(st.writes_failed, 1u);

  // The next write (fault gone) publishes the whole state, b.ts included.
  env_.Fail(FaultStep::kNone, 0);
  ASSERT_TRUE(pl->Write().ok());
  EXPECT_NE(ReadFileOrDie(o.path).find("b.ts\n"), std::string::npos);
  EXPECT_EQ(pl->GetStats().writes_ok, 2u);
}

INSTANTIATE_TEST_SUITE_P(
    EveryStep, AtomicWriteFaultTest,
    ::testing::Values(StepCase{FaultStep::kOpen, "open", EACCES},
                      StepCase{FaultStep::kWrite, "write", ENOSPC},
                      StepCase{FaultStep::kFsync, "fsync", EIO},
                      StepCase{FaultStep::kClose, "close", EDQUOT},
                      StepCase{FaultStep::kRename, "rename", EROFS},
                      StepCase{FaultStep::kSyncDir, "fsync dir", EIO}),
    [](const ::testing::TestParamInfo<StepCase>& param_info) {
      std::string n = param_info.param.name;
      for (char& ch : n) {
        if (ch == ' ') ch = '_';
      }
      return n;
    });

TEST(AtomicWriteTest, FailedDirectorySyncWithoutPreviousFileLeavesNothing) {
  ScratchDir dir;
  FaultEnv env;
  env.Fail(FaultStep::kSyncDir, EIO);
  const std::string path = dir.File("first.m3u8");
  Status s = WriteFileAtomically(&env, path, "x\n", {});
  EXPECT_FALSE(s.ok());
  EXPECT_TRUE(ListDir(dir.path()).empty());
}

TEST(AtomicWriteTest, SuccessReplacesContentAndLeavesNoTemp) {
  ScratchDir dir;
  const std::string path = dir.File("index.m3u8");
  WriteFileOrDie(path, "old\n");
  ASSERT_TRUE(WriteFileAtomically(Env::Default(), path, "new\n", {}).ok());
  EXPECT_EQ(ReadFileOrDie(path), "new\n");
  EXPECT_EQ(ListDir(dir.path()), std::vector<std::string>{"index.m3u8"});
}

TEST(AtomicWriteTest, NewFileHonoursUmaskNotPrivateMode) {
  ScratchDir dir;
  const std::string path = dir.File("index.m3u8");
  mode_t old = ::umask(022);
  Status s = WriteFileAtomically(Env::Default(), path, "x\n", {});
  ::umask(old);
  ASSERT_TRUE(s.ok());
  struct stat st;
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  // Readable by a web server running as another user.
  EXPECT_EQ(st.st_mode & 0777, 0644u);
}

TEST(AtomicWriteTest, UsesTempFileInSameDirectoryWithOurPattern) {
  ScratchDir dir;
  // Record the names that the writer creates and renames.
  class Recorder : public EnvWrapper {
   public:
    Recorder() : EnvWrapper(Env::Default()) {}
    Status RenameFile(const std::string& from, const std::string& to) override {
      renames.emplace_back(from, to);
      return EnvWrapper::RenameFile(from, to);
    }
    std::vector<std::pair<std::string, std::string>> renames;
  } env;
  const std::string path = dir.File("index.m3u8");
  ASSERT_TRUE(WriteFileAtomically(&env, path, "x\n", {}).ok());
  ASSERT_EQ(env.renames.size(), 1u);
  EXPECT_EQ(env.renames[0].second, path);
  EXPECT_EQ(DirName(env.renames[0].first), dir.path());
  EXPECT_TRUE(IsTempFileFor(path, BaseName(env.renames[0].first)))
      << env.renames[0].first;
}

TEST(AtomicWriteTest, StaleTempFilesOfOursAreRemovedOthersKept) {
  ScratchDir dir;
  const std::string path = dir.File("index.m3u8");
  WriteFileOrDie(dir.File(".playlist-index.m3u8-Ab3xY9.tmp"), "torn");
  WriteFileOrDie(dir.File(".playlist-index.m3u8-QQQQQQ.tmp"), "torn");
  WriteFileOrDie(dir.File(".playlist-other.m3u8-Ab3xY9.tmp"), "theirs");
  WriteFileOrDie(dir.File(".playlist-index.m3u8-toolong1.tmp"), "not ours");
  WriteFileOrDie(dir.File("segment0.ts"), "media");
  int removed = -1;
  ASSERT_TRUE(RemoveStaleTempFiles(Env::Default(), path, &removed).ok());
  EXPECT_EQ(removed, 2);
  EXPECT_EQ(ListDir(dir.path()),
            (std::vector<std::string>{".playlist-index.m3u8-toolong1.tmp",
                                      ".playlist-other.m3u8-Ab3xY9.tmp",
                                      "segment0.ts"}));
}

}  // namespace
}  // namespace hlsbridge
