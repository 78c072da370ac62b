// Content digests ("sha256:<64 hex>") and a streaming SHA-256 built on OpenSSL EVP.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "berth/common/result.h"

struct evp_md_ctx_st;

namespace berth::agent::image {

// Only sha256 is accepted: it is what every registry and `docker save` produce, and refusing
// the rest keeps blob paths and verification on one algorithm.
Status validate_digest(std::string_view digest);
bool is_digest(std::string_view digest);
// The 64 hex characters of a valid digest.
std::string_view digest_hex(std::string_view digest);
// Docker's 12-character short id used for layer progress and listings.
std::string short_id(std::string_view digest);

class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(Sha256&&) noexcept;
  Sha256& operator=(Sha256&&) noexcept;

  void update(const void* data, size_t size);
  void update(std::string_view data) { update(data.data(), data.size()); }
  // "sha256:<hex>". The hasher is reset afterwards.
  std::string finish();

 private:
  struct CtxDeleter {
    void operator()(evp_md_ctx_st* ctx) const;
  };
  std::unique_ptr<evp_md_ctx_st, CtxDeleter> ctx_;
};

std::string sha256_digest(std::string_view data);

}  // namespace berth::agent::image
