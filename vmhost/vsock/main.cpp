// berth-vsockd: the userspace virtio-vsock device as its own process, for QEMU's
// vhost-user-vsock-device on hosts without /dev/vhost-vsock.
#include <sys/resource.h>

#include <csignal>
#include <cstdio>
#include <exception>
#include <string>

#include <CLI/CLI.hpp>

#include "berth/common/log.h"
#include "vsock_device.h"

namespace {

berth::vsock::UserspaceVsock* g_device = nullptr;

extern "C" void on_signal(int) {
  if (g_device) g_device->stop();
}

}  // namespace

int main(int argc, char** argv) {
  try {
    CLI::App app{"berth userspace vsock device (vhost-user back-end for vhost-user-vsock-device)"};
    berth::vsock::Config config;
    std::string log_level = "info";
    std::string log_file;
    app.add_option("--vhost-user", config.vhost_user_socket, "Unix socket QEMU's chardev connects to")->required();
    app.add_option("--host-socket", config.host_socket,
                   "Unix socket for host clients (CONNECT <port>); guest connections to port P go to PATH_P")
        ->required();
    app.add_option("--cid", config.guest_cid, "guest CID")->default_val(3);
    app.add_option("--instance", config.instance, "instance name for log messages");
    app.add_flag("--once", config.exit_on_disconnect, "exit when QEMU disconnects");
    app.add_option("--log-level", log_level, "trace, debug, info, warn, error")->default_val("info");
    app.add_option("--log-file", log_file, "log to this file instead of stderr");
    CLI11_PARSE(app, argc, argv);

    berth::log::Options log_options;
    log_options.part = "vmhost";
    log_options.file = log_file;
    log_options.level = spdlog::level::from_str(log_level);
    auto logger = berth::log::setup(log_options);

    // One fd per guest connection: allow as many as the hard limit does.
    rlimit files{};
    if (::getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
      files.rlim_cur = files.rlim_max;
      ::setrlimit(RLIMIT_NOFILE, &files);
    }

    auto device = berth::vsock::UserspaceVsock::create(config);
    if (!device) {
      logger->error("berth-vsockd: {}", device.error().what());
      return 1;
    }
    g_device = device->get();
    struct sigaction sa {};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
    std::signal(SIGPIPE, SIG_IGN);

    auto status = (*device)->run();
    g_device = nullptr;
    if (!status) {
      logger->error("berth-vsockd: {}", status.error().what());
      return 1;
    }
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "berth-vsockd: %s\n", e.what());
    return 1;
  }
}
