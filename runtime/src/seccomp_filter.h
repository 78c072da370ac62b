// Seccomp for berth-runtime: the OCI `linux.seccomp` object compiled to classic BPF in the
// runtime parent, installed by the container init just before execve(), and the notify
// listener handed to a seccomp agent.
//
// Where the init must load the filter (read this before calling install_seccomp):
//   The kernel only accepts a filter from a task that has no_new_privs set or holds
//   CAP_SYS_ADMIN in its user namespace; otherwise seccomp(2) fails with EACCES. compile_seccomp
//   deliberately leaves no_new_privs alone (SCMP_FLTATR_CTL_NNP = 0) because
//   process.noNewPrivileges is the spec's decision, not seccomp's. So the init must either
//     - load the filter after prctl(PR_SET_NO_NEW_PRIVS) when the spec asks for it; then it can
//       be the very last step before execve(), after setuid()/capset(), and the profile need
//       not allow the syscalls the init itself uses to drop privileges; or
//     - without no_new_privs, load it while it still has CAP_SYS_ADMIN, i.e. before setuid() to
//       a non-root user and before capabilities are dropped. Every syscall the init makes after
//       that (setgroups, setresuid, capset, close, execve, ...) then goes through the filter, so
//       the profile has to allow them, as Docker's default profile does.
//   Also between install and execve(): a syscall answered by SCMP_ACT_NOTIFY blocks until an
//   agent responds, and the agent only gets the listener after the init handed it to the parent.
//   The syscalls used for that hand-off (sendmsg/write, read, close) must therefore not be
//   NOTIFY targets, or the container deadlocks before it starts.
#pragma once

#include <linux/filter.h>
#include <sys/types.h>

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "berth/common/oci/spec.h"
#include "berth/common/result.h"

namespace berth::runtime {

struct SeccompProgram {
  std::vector<sock_filter> filter;  // exported BPF (seccomp_export_bpf into a memfd, read back)
  unsigned int flags = 0;           // SECCOMP_FILTER_FLAG_* for the seccomp(2) syscall
  bool has_notify = false;          // some rule uses SCMP_ACT_NOTIFY -> NEW_LISTENER flag set
  std::string listener_path;        // spec listenerPath
  std::string listener_metadata;
};

// Compiles the spec with libseccomp in the parent (allocation allowed here). Unknown syscall
// names are skipped and appended to *warnings (which may be null), like runc. Errors are
// Errc::invalid_argument naming the field: "linux.seccomp.syscalls[3].action: unknown action ...".
//
// Argument rules: within one syscalls[] entry, conditions on different argument indexes must all
// hold (AND) and several conditions on the same index are alternatives (OR). libseccomp allows
// one comparison per argument per rule, so an entry becomes one rule per combination. With a
// single repeated index this is exactly what runc produces; runc degenerates to a plain OR of
// every condition when two or more indexes repeat, which would loosen the entry, so berth
// keeps the AND.
//
// A rule whose action equals the default action is dropped (libseccomp rejects it and it
// changes nothing). SCMP_ACT_NOTIFY is refused as defaultAction, because then the init could not
// even pass the listener out, and requires listenerPath. SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
// without any SCMP_ACT_NOTIFY rule is dropped with a warning, since the kernel rejects it there.
Result<SeccompProgram> compile_seccomp(const oci::LinuxSeccomp& spec, std::vector<std::string>* warnings);

// Runs in the container init between clone() and execve(): NO allocation, NO logging, only
// syscalls. Loads the filter with seccomp(SECCOMP_SET_MODE_FILTER, flags, &prog). Returns the
// listener fd (>=0, O_CLOEXEC as the kernel creates it) when has_notify, 0 when loaded without
// listener, or -errno on failure (-EACCES: neither no_new_privs nor CAP_SYS_ADMIN, see above).
int install_seccomp(const SeccompProgram& program) noexcept;

// Sends the notify listener fd to listener_path (unix stream socket, SCM_RIGHTS) with the
// container state JSON as the message payload, per the OCI runtime spec "seccomp listener"
// section. Called by the runtime parent.
//
// `state_json` is the container's state as `berth-runtime state` prints it; it is wrapped into
// the spec's "container process state" ({"ociVersion","fds":["seccompFd"],"pid","metadata",
// "state"}) whose pid is state.pid. One connection, one message, then closed.
Status send_seccomp_listener(const SeccompProgram& program, int listener_fd, const std::string& state_json);
// Same, for a process other than the container's init (exec): `process_pid` is the process that
// loaded the filter, which the spec's top-level "pid" names.
Status send_seccomp_listener(const SeccompProgram& program, int listener_fd, const std::string& state_json,
                             pid_t process_pid);

// For `berth-runtime features`: {"enabled":true,"actions":[...],"operators":[...],"archs":[...],
// "knownFlags":[...],"supportedFlags":[...]}. archs lists what this libseccomp resolves;
// supportedFlags is probed from the running kernel.
nlohmann::json seccomp_features();

}  // namespace berth::runtime
