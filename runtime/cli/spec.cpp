#include <iostream>

#include "berth/common/fs.h"
#include "caps.h"
#include "cli.h"
#include "default_spec.h"
#include "seccomp_filter.h"

namespace berth::runtime::cli {

void add_spec(CLI::App& app, Context&) {
  auto* bundle = new std::string(".");
  auto* rootless = new bool(false);
  auto* cmd = app.add_subcommand("spec", "write a default config.json into the bundle");
  cmd->add_option("-b,--bundle", *bundle, "bundle directory");
  cmd->add_flag("--rootless", *rootless, "a spec for a rootless container");
  set_action(cmd, [bundle, rootless]() -> Result<int> {
    std::string path = *bundle + "/config.json";
    if (fs::exists(path)) return make_error(Errc::already_exists, "File " + path + " exists. Remove it first");
    BERTH_TRY(fs::write_file(path, default_spec(*rootless).dump(2) + "\n", 0644));
    return 0;
  });
}

void add_features(CLI::App& app, Context&) {
  auto* cmd = app.add_subcommand("features", "print the features this runtime supports (JSON)");
  set_action(cmd, []() -> Result<int> {
    OrderedJson f;
    f["ociVersionMin"] = "1.0.0";
    f["ociVersionMax"] = oci::kSpecVersion;
    f["hooks"] = {"prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"};
    f["mountOptions"] = {"async", "atime", "bind", "defaults", "dev", "diratime", "dirsync", "exec", "idmap",
                         "lazytime", "mand", "noatime", "nodev", "nodiratime", "noexec", "nolazytime", "nomand",
                         "norelatime", "nostrictatime", "nosuid", "nosymfollow", "private", "rbind", "relatime",
                         "remount", "ridmap", "ro", "rprivate", "rshared", "rslave", "runbindable", "rw", "shared",
                         "slave", "strictatime", "suid", "symfollow", "sync", "tmpcopyup", "unbindable"};
    OrderedJson linux;
    linux["namespaces"] = {"cgroup", "ipc", "mount", "network", "pid", "time", "user", "uts"};
    linux["capabilities"] = all_capability_names();
    linux["cgroup"] = {{"v1", true}, {"v2", true}, {"systemd", false}, {"systemdUser", false}, {"rdma", false}};
    linux["seccomp"] = seccomp_features();
    linux["apparmor"] = {{"enabled", false}};
    linux["selinux"] = {{"enabled", false}};
    linux["intelRdt"] = {{"enabled", false}};
    linux["mountExtensions"] = {{"idmap", {{"enabled", true}}}};
    f["linux"] = linux;
    f["annotations"] = OrderedJson::object();
    std::cout << f.dump(2) << "\n";
    return 0;
  });
}

}  // namespace berth::runtime::cli
