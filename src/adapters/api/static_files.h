#pragma once
// The browser pages: GET/HEAD of "/" (the login page), "/app/..." (desktop, wallboard, admin,
// their scripts and styles) and "/widget.js" (the chat widget other sites embed), read from a
// web directory on disk. No engine, no state beyond the root: the server calls it on its I/O
// thread, so pages never wait behind routing work.
//
// Safety: the path is split before percent-decoding and every segment is checked ("..", ".",
// hidden names, NUL, '/' or '\' inside a segment are refused), then the resolved file must lie
// under the canonical root (a symlink pointing out is refused). Answers carry an ETag (size and
// modification time) and honour If-None-Match with 304.
//
// Headers: app pages get a strict Content-Security-Policy (scripts and connections to this
// origin only, frame-ancestors 'none'); widget.js gets Cross-Origin-Resource-Policy:
// cross-origin so that other sites may load it.
//
// Threads: Serve is const and safe from any thread.

#include <cstddef>
#include <string>

#include "adapters/http/http_server.h"

namespace homeline::api {

class StaticFiles {
 public:
  // root: the web directory; empty or missing means every page answers 404.
  explicit StaticFiles(std::string root);

  // Whether the request's path belongs to the pages ("/", "/app", "/app/...", "/widget.js").
  static bool Handles(const http::Request& request);

  http::Response Serve(const http::Request& request) const;

  const std::string& root() const { return root_; }

  // Files larger than this are not served (the pages are small; anything bigger is a mistake).
  static constexpr std::size_t kMaxFileSize = 8 << 20;

 private:
  std::string root_;  // canonical, or empty
};

}  // namespace homeline::api
