// Idmapped mounts and the foreground terminal path.
#include <sys/stat.h>
#include <unistd.h>

#include "fixture.h"

namespace berth::test {
namespace {

using ExtraTest = RuntimeTest;

TEST_F(ExtraTest, IdmappedBindMount) {
  std::string host = dir_ + "/idmapped";
  ::mkdir(host.c_str(), 0755);
  write_file(host + "/owned", "x");  // owned by 0:0 on disk
  auto spec = base_spec({"stat", "-c", "%u:%g", "/data/owned"});
  // As runc does, the mount's mappings are those of a user namespace (containerID → hostID, the
  // container's own mapping in the usual case): on-disk id 0 shows as host id 1000.
  spec["mounts"].push_back({{"destination", "/data"},
                            {"type", "bind"},
                            {"source", host},
                            {"options", {"bind", "idmap"}},
                            {"uidMappings", {{{"containerID", 0}, {"hostID", 1000}, {"size", 1}}}},
                            {"gidMappings", {{{"containerID", 0}, {"hostID", 1000}, {"size", 1}}}}});
  auto r = run_spec(spec);
  if (r.status != 0 && (r.err.find("mount_setattr") != std::string::npos || r.err.find("open_tree") != std::string::npos))
    GTEST_SKIP() << "the kernel or filesystem here does not support idmapped mounts: " << r.err;
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "1000:1000\n");
}

TEST_F(ExtraTest, ForegroundRunRelaysATerminal) {
  if (sh("command -v script").status != 0) GTEST_SKIP() << "script(1) (bsdutils) is not installed";
  auto spec = base_spec({"sh", "-c", "tty; echo interactive-ok"});
  spec["process"]["terminal"] = true;
  write_spec(spec);
  // script(1) gives the runtime a real pty as its stdin/stdout, like a user's shell.
  auto r = sh("script -qec '" BERTH_RUNTIME_BIN " --root " + state_root_ + " run --bundle " + bundle_ + " " +
              unique_id("fg") + "' /dev/null < /dev/null");
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("/dev/pts/0"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("interactive-ok"), std::string::npos) << r.out;
}

TEST_F(ExtraTest, ExecWithTtyInForeground) {
  if (sh("command -v script").status != 0) GTEST_SKIP() << "script(1) (bsdutils) is not installed";
  write_spec(base_spec({"sleep", "30"}));
  std::string id = unique_id("exectty");
  ASSERT_EQ(rt({"run", "-d", "--bundle", bundle_, id}).status, 0);
  auto r = sh("script -qec '" BERTH_RUNTIME_BIN " --root " + state_root_ + " exec -t " + id +
              " sh -c \"tty; exit 6\"' /dev/null < /dev/null");
  EXPECT_NE(r.out.find("/dev/pts/"), std::string::npos) << r.out << r.err;
}

}  // namespace
}  // namespace berth::test
