// VhostUserServer: the back-end half of the vhost-user control protocol. QEMU (the
// front-end) connects to our socket and hands us guest memory and virtqueues; the device
// logic behind it is a VhostUserBackend.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "berth/common/result.h"
#include "berth/common/unique_fd.h"
#include "event_loop.h"
#include "guest_memory.h"
#include "vhost_user_protocol.h"
#include "virtqueue.h"
#include "vsock_log.h"

namespace berth::vsock {

class VhostUserBackend {
 public:
  virtual ~VhostUserBackend() = default;
  // Device and ring feature bits offered besides VERSION_1 and PROTOCOL_FEATURES.
  virtual uint64_t device_features() const = 0;
  // The device's config space, read by GET_CONFIG.
  virtual std::vector<uint8_t> device_config() const = 0;
  // A ring went live (started, enabled, mapped): work may be waiting on it.
  virtual void queue_started(size_t index) = 0;
  virtual void queue_stopped(size_t index) = 0;
  virtual void queue_kicked(size_t index) = 0;
  virtual void frontend_disconnected() = 0;
};

class VhostUserServer {
 public:
  static constexpr size_t kMaxQueues = 8;

  // Listens on `path` right away, so QEMU may be started as soon as this returns.
  static Result<std::unique_ptr<VhostUserServer>> listen(EventLoop& loop, const std::string& path,
                                                         VhostUserBackend& backend, size_t num_queues, Log log);
  ~VhostUserServer();
  VhostUserServer(const VhostUserServer&) = delete;
  VhostUserServer& operator=(const VhostUserServer&) = delete;

  Virtqueue& queue(size_t index) { return queues_[index].ring; }
  bool queue_live(size_t index) const { return queues_[index].live; }
  bool connected() const { return conn_.valid(); }
  uint64_t acked_features() const { return features_; }

  // Runs after a front-end went away and the device was reset.
  void set_on_disconnect(std::function<void()> callback) { on_disconnect_ = std::move(callback); }

 private:
  struct QueueState {
    Virtqueue ring;
    UniqueFd kick;
    UniqueFd err;
    bool started = false;  // has a kick fd and was not stopped by GET_VRING_BASE
    bool enabled = false;
    bool addressed = false;
    bool live = false;
  };
  struct Reply {
    bool explicit_reply = false;  // GET_* requests answer with data instead of an ack
    std::vector<uint8_t> payload;
  };

  VhostUserServer(EventLoop& loop, std::string path, UniqueFd listener, VhostUserBackend& backend, size_t num_queues,
                  Log log);

  void on_accept();
  void on_readable();
  void disconnect(const std::string& why);
  Status dispatch(const vhost_user::Header& header, const std::vector<uint8_t>& payload, std::vector<UniqueFd>& fds,
                  Reply& reply);
  Status send_message(uint32_t request, const std::vector<uint8_t>& payload);
  Result<size_t> queue_index(uint64_t raw) const;
  void update_queue(size_t index);
  void stop_queue(size_t index);
  void reset_device();

  Status set_mem_table(const std::vector<uint8_t>& payload, std::vector<UniqueFd>& fds);
  Status set_vring_fd(vhost_user::Request request, const std::vector<uint8_t>& payload, std::vector<UniqueFd>& fds);
  Status get_config(const std::vector<uint8_t>& payload, Reply& reply);

  EventLoop& loop_;
  std::string path_;
  UniqueFd listener_;
  VhostUserBackend& backend_;
  size_t num_queues_;
  Log log_;
  std::function<void()> on_disconnect_;

  UniqueFd conn_;
  // Incoming message being assembled; fds travel with its first bytes.
  std::vector<uint8_t> in_;
  std::vector<UniqueFd> in_fds_;

  uint64_t features_ = 0;
  uint64_t protocol_features_ = 0;
  GuestMemory memory_;
  std::array<QueueState, kMaxQueues> queues_;
};

}  // namespace berth::vsock
