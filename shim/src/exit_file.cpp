#include "exit_file.h"

#include <sys/wait.h>

#include "berth/common/fs.h"

namespace berth::shim {

Status write_exit_file(const std::string& path, const ExitRecord& record) {
  return fs::write_file_atomic(path, to_json(record).dump() + "\n", 0644);
}

Result<ExitRecord> read_exit_file(const std::string& path) {
  auto text = BERTH_TRY(fs::read_file(path));
  return parse_exit_record(text);
}

int exit_code_from_wait_status(int wait_status, int* signal) {
  *signal = 0;
  if (WIFEXITED(wait_status)) return WEXITSTATUS(wait_status);
  if (WIFSIGNALED(wait_status)) {
    *signal = WTERMSIG(wait_status);
    return 128 + *signal;
  }
  return 255;
}

}  // namespace berth::shim
