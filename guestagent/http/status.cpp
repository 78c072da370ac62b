#include "status.h"

#include "berth/common/json.h"

namespace berth::agent::http {

int status_for(Errc code) {
  switch (code) {
    case Errc::invalid_argument: return 400;
    case Errc::permission: return 403;
    case Errc::not_found: return 404;
    case Errc::already_exists:
    case Errc::conflict: return 409;
    case Errc::unsupported: return 501;
    default: return 500;
  }
}

std::string_view reason_phrase(int status) {
  switch (status) {
    case 101: return "UPGRADED";
    case 200: return "OK";
    case 201: return "Created";
    case 204: return "No Content";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 413: return "Request Entity Too Large";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    default: return "Unknown";
  }
}

std::string error_body(std::string_view message) {
  return Json{{"message", std::string(message)}}.dump(-1, ' ', false, Json::error_handler_t::replace) + "\n";
}

}  // namespace berth::agent::http
