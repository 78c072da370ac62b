// Docker's HTTP statuses for berth's error codes, and its error body {"message": "…"}.
#pragma once

#include <string>
#include <string_view>

#include "berth/common/result.h"

namespace berth::agent::http {

// invalid_argument 400, permission 403, not_found 404, already_exists/conflict 409,
// unsupported 501, everything else 500 — dockerd's errdefs mapping.
int status_for(Errc code);
std::string_view reason_phrase(int status);
// {"message":"…"} followed by a newline, as dockerd writes it.
std::string error_body(std::string_view message);

}  // namespace berth::agent::http
