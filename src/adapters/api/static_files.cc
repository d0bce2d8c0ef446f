#include "adapters/api/static_files.h"

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

#include <fmt/format.h>

#include "adapters/api/responses.h"
#include "adapters/http/url.h"

namespace homeline::api {

namespace fs = std::filesystem;

namespace {

// The pages' policy: everything from this origin, nothing inline, no framing. connect-src
// 'self' covers ws:// and wss:// to the same host (CSP level 3).
constexpr const char* kAppPolicy =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; media-src 'self'; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

const char* ContentType(const std::string& ext) {
  if (ext == ".html") return "text/html; charset=utf-8";
  if (ext == ".js" || ext == ".mjs") return "text/javascript; charset=utf-8";
  if (ext == ".css") return "text/css; charset=utf-8";
  if (ext == ".json") return "application/json";
  if (ext == ".svg") return "image/svg+xml";
  if (ext == ".png") return "image/png";
  if (ext == ".ico") return "image/x-icon";
  if (ext == ".woff2") return "font/woff2";
  if (ext == ".txt") return "text/plain; charset=utf-8";
  return "application/octet-stream";
}

// Splits the raw path on '/', decodes each segment, and refuses anything that could leave
// the directory or name a hidden file. Empty segments ("//") are skipped.
bool SafeSegments(const std::string& raw, std::vector<std::string>& out) {
  std::size_t i = 0;
  while (i <= raw.size()) {
    std::size_t j = raw.find('/', i);
    if (j == std::string::npos) j = raw.size();
    if (j > i) {
      std::string seg = http::PercentDecode(std::string_view(raw).substr(i, j - i), false);
      if (seg.empty() || seg.front() == '.' || seg.size() > 255) return false;
      for (char c : seg)
        if (c == '/' || c == '\\' || c == '\0' || static_cast<unsigned char>(c) < 0x20) return false;
      out.push_back(std::move(seg));
    }
    i = j + 1;
  }
  return true;
}

http::Response NotFound() { return ErrorResponse(404, "not_found", "no such page"); }

}  // namespace

StaticFiles::StaticFiles(std::string root) {
  if (root.empty()) return;
  std::error_code ec;
  fs::path canon = fs::canonical(root, ec);
  if (!ec && fs::is_directory(canon, ec)) root_ = canon.string();
}

bool StaticFiles::Handles(const http::Request& request) {
  const std::string& p = request.raw_path.empty() ? request.path : request.raw_path;
  return p == "/" || p == "/widget.js" || p == "/app" || p.starts_with("/app/");
}

http::Response StaticFiles::Serve(const http::Request& request) const {
  if (request.method != "GET" && request.method != "HEAD") {
    http::Response r = ErrorResponse(405, "method_not_allowed", request.method + " is not allowed on pages");
    r.headers.emplace_back("Allow", "GET, HEAD");
    return r;
  }
  const std::string& raw = request.raw_path.empty() ? request.path : request.raw_path;
  if (raw == "/app") {
    http::Response r;
    r.status = 301;
    r.content_type.clear();
    r.headers.emplace_back("Location", "/app/");
    return r;
  }
  if (root_.empty()) return NotFound();
  std::vector<std::string> segs;
  if (!SafeSegments(raw, segs)) return NotFound();
  fs::path rel;
  for (const std::string& s : segs) rel /= s;
  if (raw.ends_with("/")) rel /= "index.html";
  const bool widget = raw == "/widget.js";

  std::error_code ec;
  const fs::path file = fs::canonical(fs::path(root_) / rel, ec);
  if (ec) return NotFound();
  // A symlink inside the tree may point anywhere: the resolved file must still be under root.
  const std::string fstr = file.string();
  if (fstr.size() <= root_.size() || fstr.compare(0, root_.size(), root_) != 0 || fstr[root_.size()] != '/')
    return NotFound();
  struct stat st{};
  if (::stat(fstr.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return NotFound();
  if (static_cast<std::size_t>(st.st_size) > kMaxFileSize) return NotFound();

  http::Response r;
  const std::string etag = fmt::format("\"{:x}-{:x}{:09x}\"", static_cast<std::uint64_t>(st.st_size),
                                       static_cast<std::uint64_t>(st.st_mtim.tv_sec),
                                       static_cast<std::uint64_t>(st.st_mtim.tv_nsec));
  r.content_type = ContentType(file.extension().string());
  r.headers.emplace_back("ETag", etag);
  // The app revalidates on every load, so a new version shows at once; the widget may be
  // cached briefly by the sites that embed it.
  r.headers.emplace_back("Cache-Control", widget ? "public, max-age=300" : "no-cache");
  if (widget) {
    r.headers.emplace_back("Cross-Origin-Resource-Policy", "cross-origin");
    r.headers.emplace_back("Access-Control-Allow-Origin", "*");
  } else {
    r.headers.emplace_back("Content-Security-Policy", kAppPolicy);
    r.headers.emplace_back("X-Frame-Options", "DENY");
    r.headers.emplace_back("Referrer-Policy", "same-origin");
    r.headers.emplace_back("Cross-Origin-Opener-Policy", "same-origin");
    r.headers.emplace_back("Cross-Origin-Resource-Policy", "same-origin");
  }
  const std::string& inm = request.Header("if-none-match");
  if (!inm.empty() && (inm == etag || inm == "W/" + etag || inm.find(etag) != std::string::npos)) {
    r.status = 304;
    return r;
  }
  std::ifstream in(file, std::ios::binary);
  if (!in) return NotFound();
  r.body.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  return r;
}

}  // namespace homeline::api
