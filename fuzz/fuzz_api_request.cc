// libFuzzer target: one HTTP request (already framed by the HTTP layer) through the API.
// Input: "METHOD TARGET\n" then "name: value\n" headers, a blank line, and the body. A header
// "x-fuzz-user: admin|supervisor|agent|other" picks a logged-in caller.
// Properties: no crash or sanitizer report; every answer has a status 200-599 and, when JSON,
// parses; every error body is {"error":{"code","message"}}.

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "adapters/api/api.h"
#include "adapters/http/url.h"
#include "adapters/auth/passwords.h"
#include "core/engine.h"

using namespace homeline;

namespace {

struct World {
  core::Engine engine;
  std::unique_ptr<api::Api> api;
  int runs = 0;

  World() {
    engine.SetTime(1'767'603'600'000);  // 2026-01-05 09:00 UTC
    core::Tenant a{0, "acme", "Acme", {}};
    core::Tenant g{0, "globex", "Globex", {}};
    const auto acme = *engine.CreateTenant(a);
    const auto globex = *engine.CreateTenant(g);
    core::Skill s{0, acme, "support"};
    const auto skill = *engine.CreateSkill(s);
    core::Queue q;
    q.tenant = acme;
    q.name = "support";
    q.skills = {{skill, 1}};
    (void)engine.CreateQueue(q);
    q.tenant = globex;
    q.skills = {};
    (void)engine.CreateQueue(q);
    core::Disposition d{0, acme, "resolved", "Resolved"};
    (void)engine.CreateDisposition(d);
    const char* names[] = {"admin", "supervisor", "agent", "other"};
    const core::Role roles[] = {core::Role::kAdmin, core::Role::kSupervisor, core::Role::kAgent,
                                core::Role::kAgent};
    for (int i = 0; i < 4; ++i) {
      core::User u;
      u.login = names[i];
      u.platform_admin = i == 0;
      const auto id = *engine.CreateUser(u);
      core::Membership m;
      m.role = roles[i];
      m.skills = {{skill, 5}};
      (void)engine.SetMember(i == 3 ? globex : acme, id, i == 3 ? core::Membership{} : m);
      (void)engine.CreateSession(auth::TokenHash(std::string("token-") + names[i]), id,
                                 engine.now() + 365 * kDay);
    }
    api = std::make_unique<api::Api>(engine, api::ApiOptions{});
    (void)engine.TakeOutbox();
  }
};

std::unique_ptr<World> world;

http::Request Parse(const std::string& in) {
  http::Request r;
  std::size_t pos = in.find('\n');
  std::string line = in.substr(0, pos);
  const std::size_t sp = line.find(' ');
  r.method = line.substr(0, sp);
  std::string target = sp == std::string::npos ? "/" : line.substr(sp + 1);
  const std::size_t q = target.find('?');
  r.raw_path = target.substr(0, q);
  r.path = http::PercentDecode(r.raw_path, /*plus_is_space=*/false);
  if (q != std::string::npos) r.query = target.substr(q + 1);
  r.remote_address = "127.0.0.1";
  while (pos != std::string::npos) {
    const std::size_t next = in.find('\n', pos + 1);
    std::string h = in.substr(pos + 1, next == std::string::npos ? std::string::npos : next - pos - 1);
    pos = next;
    if (h.empty()) break;
    const std::size_t colon = h.find(':');
    if (colon == std::string::npos) continue;
    std::string name = h.substr(0, colon);
    std::string value = h.substr(colon + 1);
    if (!value.empty() && value[0] == ' ') value.erase(0, 1);
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (name == "x-fuzz-user") {
      r.headers.emplace_back("authorization", "Bearer token-" + value);
    } else {
      r.headers.emplace_back(std::move(name), std::move(value));
    }
  }
  if (pos != std::string::npos) r.body = in.substr(pos + 1);
  return r;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > 64 * 1024) return 0;
  // The engine keeps what requests create; start afresh now and then so memory stays flat.
  if (!world || ++world->runs > 2000) world = std::make_unique<World>();
  const http::Request req = Parse(std::string(reinterpret_cast<const char*>(data), size));
  api::Outcome out = world->api->Handle(req);
  (void)world->engine.TakeOutbox();
  if (out.offload) return 0;  // password hashing: not run under the fuzzer
  const int status = out.response.status;
  if (status < 200 || status > 599) std::abort();
  if (out.response.content_type == "application/json") {
    auto j = nlohmann::json::parse(out.response.body, nullptr, false);
    if (j.is_discarded()) std::abort();
    if (status >= 400 && !(j.contains("error") && j["error"].contains("code") && j["error"].contains("message")))
      std::abort();
  }
  return 0;
}
