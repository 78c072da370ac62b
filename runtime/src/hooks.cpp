#include "hooks.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "berth/common/unique_fd.h"
#include "init/sys.h"

namespace berth::runtime {

namespace {

Status run_hook(const oci::Hook& hook, const std::string& state_json, const std::string& where) {
  std::vector<std::string> args = hook.args.empty() ? std::vector<std::string>{hook.path} : hook.args;
  std::vector<char*> argv, envp;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env = hook.env;
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);

  int in[2];
  if (::pipe2(in, O_CLOEXEC) < 0) return sys_error(where + ": pipe");
  UniqueFd rd(in[0]), wr(in[1]);
  pid_t pid = ::fork();
  if (pid < 0) return sys_error(where + ": fork");
  if (pid == 0) {
    ::dup2(rd.get(), 0);
    ::execve(hook.path.c_str(), argv.data(), envp.data());
    ::_exit(127);
  }
  rd.reset();
  // A hook that does not read stdin must not block us: ignore EPIPE.
  ::signal(SIGPIPE, SIG_IGN);
  sys::write_all(wr.get(), state_json.data(), state_json.size());
  wr.reset();

  UniqueFd pidfd(sys::pidfd_open(pid));
  if (hook.timeout && *hook.timeout > 0 && pidfd) {
    struct pollfd p {pidfd.get(), POLLIN, 0};
    int rc;
    do {
      rc = ::poll(&p, 1, *hook.timeout * 1000);
    } while (rc < 0 && errno == EINTR);
    if (rc == 0) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
      return make_error(Errc::timeout, where + ": " + hook.path + " timed out after " + std::to_string(*hook.timeout) + "s");
    }
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return sys_error(where + ": wait");
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
    return make_error(Errc::not_found, where + ": " + hook.path + " could not be executed");
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    return make_error(Errc::internal, where + ": " + hook.path + " failed with status " +
                                          std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status)));
  return ok();
}

}  // namespace

Status run_hooks(const std::vector<oci::Hook>& hooks, const std::string& state_json, const std::string& stage) {
  for (size_t i = 0; i < hooks.size(); ++i) {
    BERTH_TRY(run_hook(hooks[i], state_json, stage + " hook #" + std::to_string(i)));
  }
  return ok();
}

}  // namespace berth::runtime
