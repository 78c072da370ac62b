#include "digest.h"

#include <openssl/evp.h>

#include <stdexcept>

namespace berth::agent::image {

namespace {
constexpr std::string_view kPrefix = "sha256:";

bool is_lower_hex(std::string_view s) {
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}
}  // namespace

Status validate_digest(std::string_view digest) {
  auto colon = digest.find(':');
  if (colon == std::string_view::npos || colon == 0)
    return make_error(Errc::invalid_argument, "invalid digest \"" + std::string(digest) + "\": missing algorithm");
  if (digest.substr(0, colon + 1) != kPrefix)
    return make_error(Errc::unsupported, "unsupported digest algorithm in \"" + std::string(digest) + "\"");
  std::string_view hex = digest.substr(kPrefix.size());
  if (hex.size() != 64 || !is_lower_hex(hex))
    return make_error(Errc::invalid_argument, "invalid digest \"" + std::string(digest) + "\": expected 64 lowercase hex characters");
  return ok();
}

bool is_digest(std::string_view digest) { return validate_digest(digest).has_value(); }

std::string_view digest_hex(std::string_view digest) {
  auto colon = digest.find(':');
  return colon == std::string_view::npos ? digest : digest.substr(colon + 1);
}

std::string short_id(std::string_view digest) { return std::string(digest_hex(digest).substr(0, 12)); }

void Sha256::CtxDeleter::operator()(evp_md_ctx_st* ctx) const { EVP_MD_CTX_free(ctx); }

Sha256::Sha256() : ctx_(EVP_MD_CTX_new()) {
  // Allocation failure here means the process is out of memory; nothing sensible remains.
  if (!ctx_ || EVP_DigestInit_ex(ctx_.get(), EVP_sha256(), nullptr) != 1) throw std::bad_alloc();
}
Sha256::~Sha256() = default;
Sha256::Sha256(Sha256&&) noexcept = default;
Sha256& Sha256::operator=(Sha256&&) noexcept = default;

void Sha256::update(const void* data, size_t size) {
  if (size) EVP_DigestUpdate(ctx_.get(), data, size);
}

std::string Sha256::finish() {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx_.get(), md, &len);
  EVP_DigestInit_ex(ctx_.get(), EVP_sha256(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(kPrefix);
  for (unsigned int i = 0; i < len; ++i) {
    out.push_back(kHex[md[i] >> 4]);
    out.push_back(kHex[md[i] & 15]);
  }
  return out;
}

std::string sha256_digest(std::string_view data) {
  Sha256 h;
  h.update(data);
  return h.finish();
}

}  // namespace berth::agent::image
