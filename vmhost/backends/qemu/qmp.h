// Just enough of QMP (QEMU Machine Protocol) to stop a VM: connect, negotiate
// capabilities, run one command at a time, skip asynchronous events.
#pragma once

#include <chrono>
#include <string>

#include "berth/common/json.h"
#include "berth/common/result.h"
#include "berth/common/unique_fd.h"
#include "net/socket_io.h"

namespace berth::qemu {

class QmpClient {
 public:
  // Connects and finishes the greeting + qmp_capabilities handshake.
  static Result<QmpClient> connect(const std::string& socket, std::chrono::milliseconds timeout);

  // The command's "return" value; a QMP "error" becomes an Error with its description.
  Result<Json> execute(const std::string& command, const Json& arguments = Json::object(),
                       std::chrono::milliseconds timeout = std::chrono::seconds(5));

 private:
  explicit QmpClient(UniqueFd fd) : fd_(std::move(fd)) {}
  Result<Json> read_message(net::Clock::time_point deadline);

  UniqueFd fd_;
  std::string buf_;
};

}  // namespace berth::qemu
