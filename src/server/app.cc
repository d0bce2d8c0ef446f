#include "server/app.h"

#include <chrono>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <map>
#include <mutex>
#include <thread>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "adapters/api/api.h"
#include "adapters/api/chat_hub.h"
#include "adapters/api/event_hub.h"
#include "adapters/api/static_files.h"
#include "adapters/auth/passwords.h"
#include "adapters/http/http_server.h"
#include "adapters/sip/registrar.h"
#include "adapters/sip/sip_stack.h"
#include "adapters/sip/voice_service.h"
#include "adapters/solver/cbc_solver.h"
#include "adapters/store/event_store.h"
#include "adapters/tz/tzif.h"
#include "core/engine.h"
#include "core/event_codec.h"
#include "server/demo.h"
#include "server/metrics_text.h"
#include "server/voice.h"

namespace homeline::server {

namespace {

TimeMs WallMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// A fixed pool for slow work that must not block the engine loop (argon2id hashing).
class WorkerPool {
 public:
  explicit WorkerPool(int n) {
    for (int i = 0; i < n; ++i) threads_.emplace_back([this] { Loop(); });
  }
  ~WorkerPool() {
    {
      std::lock_guard lk(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    for (auto& t : threads_) t.join();
  }
  void Submit(std::function<void()> fn) {
    {
      std::lock_guard lk(mu_);
      tasks_.push_back(std::move(fn));
    }
    cv_.notify_one();
  }

 private:
  void Loop() {
    for (;;) {
      std::function<void()> fn;
      {
        std::unique_lock lk(mu_);
        cv_.wait(lk, [&] { return stop_ || !tasks_.empty(); });
        if (tasks_.empty()) return;
        fn = std::move(tasks_.front());
        tasks_.pop_front();
      }
      fn();
    }
  }
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> tasks_;
  bool stop_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace

struct App::Impl : http::ServerHandler {
  Config config;
  core::Engine engine;
  std::unique_ptr<api::Api> api;
  std::unique_ptr<api::EventHub> hub;
  std::unique_ptr<api::ChatHub> chat_hub;  // the chat widget's sockets
  std::unique_ptr<store::EventStore> store;
  std::unique_ptr<http::Server> http;
  std::unique_ptr<WorkerPool> workers;
  std::unique_ptr<api::StaticFiles> pages;  // read-only after Start: used on the I/O threads
  std::unique_ptr<sip::SipStack> sip_stack;  // null when SIP is off
  std::unique_ptr<Voice> voice;              // calls and media; null when SIP is off
  std::unique_ptr<sip::Registrar> registrar;  // agents' phones; null when SIP is off

  // The loop's inbox.
  std::mutex mu;
  std::condition_variable cv;
  std::deque<std::function<void()>> inbox;
  bool stopping = false;
  std::optional<Error> fatal;

  // Owned by the loop thread.
  std::uint64_t durable = 0;
  std::uint64_t writes_refused = 0;  // while the store was full (503)
  std::multimap<std::uint64_t, std::function<void()>> held;  // replies waiting for durability
  std::deque<core::Event> unpublished;                        // events waiting for durability

  // With SIP on, voice goes only to agents whose phone is registered (the registrar tells the
  // engine); with it off there are no phones, and voice is offered through the API alone.
  static core::EngineOptions EngineOptionsOf(const Config& c) {
    core::EngineOptions o;
    o.voice_requires_phone = c.sip_enabled;
    o.zones = tz::SystemZones::Default().Lookup();
    return o;
  }

  explicit Impl(Config c) : config(std::move(c)), engine(EngineOptionsOf(config)) {}

  void Post(std::function<void()> fn) {
    {
      std::lock_guard lk(mu);
      inbox.push_back(std::move(fn));
    }
    cv.notify_one();
  }

  // ---- durability ----------------------------------------------------------------------------

  void FlushOutbox() {
    std::vector<core::Event> events = engine.TakeOutbox();
    if (events.empty()) return;
    if (voice) voice->Observe(events);
    if (registrar) {
      for (const core::Event& e : events) {
        if (const auto* s = std::get_if<core::UserSipSet>(&e.body)) UpdateSipCredential(s->user);
        if (const auto* u = std::get_if<core::UserSet>(&e.body)) UpdateSipCredential(u->user->id);
      }
    }
    std::vector<store::StoredEvent> batch;
    batch.reserve(events.size());
    for (const core::Event& e : events) {
      batch.push_back(store::StoredEvent{e.seq, e.ts, e.tenant, core::TypeName(e.body),
                                         core::EncodePayload(e.body)});
    }
    store->Append(std::move(batch));
    for (core::Event& e : events) unpublished.push_back(std::move(e));
  }

  // The registrar's copy of a user's SIP credential (it checks REGISTERs on the SIP thread):
  // none for a disabled user, whose phone is then dropped.
  void UpdateSipCredential(core::UserId id) {
    const core::User* u = engine.FindUser(id);
    if (u == nullptr) return;
    const std::string* ha1 = engine.SipHa1(id);
    registrar->SetCredential(u->login, id, ha1 && !u->disabled ? *ha1 : std::string());
  }

  void OnDurable(std::uint64_t seq) {
    durable = std::max(durable, seq);
    while (!held.empty() && held.begin()->first <= durable) {
      auto fn = std::move(held.begin()->second);
      held.erase(held.begin());
      fn();
    }
    std::vector<core::Event> ready;
    while (!unpublished.empty() && unpublished.front().seq <= durable) {
      ready.push_back(std::move(unpublished.front()));
      unpublished.pop_front();
    }
    hub->SetDurable(durable);
    chat_hub->SetDurable(durable);
    if (!ready.empty()) {
      hub->Publish(ready);
      chat_hub->Publish(ready);
    }
  }

  // ---- requests ------------------------------------------------------------------------------

  void Complete(api::Outcome o, http::Reply reply) {
    if (o.offload) {
      workers->Submit([this, offload = std::move(o.offload), reply]() {
        auto next = offload();
        Post([this, next = std::move(next), reply]() { Complete(next(), reply); });
      });
      return;
    }
    FlushOutbox();
    if (o.durable_seq <= durable) {
      reply(std::move(o.response));
      return;
    }
    held.emplace(o.durable_seq, [reply, r = std::move(o.response)]() mutable { reply(std::move(r)); });
  }

  // ---- backpressure -------------------------------------------------------------------------
  // The store's queue is bounded here, at admission: the events a command emits are applied
  // before they are queued, so the store cannot refuse them; instead, while its queue is at
  // its bound (a slow disk), requests that may write are answered 503 before they run, and
  // chat messages on the sockets get the same error (ChatService). Timers and WebSocket
  // pushes go on; reads wait, as always, for what they show. docs/decisions.md 41.
  bool WritesPaused() const { return store->Stats().full; }

  static bool MayWrite(const http::Request& r) {
    return r.method != "GET" && r.method != "HEAD" && r.method != "OPTIONS";
  }

  http::Response StoreBehind() {
    ++writes_refused;
    http::Response r = api::ErrorResponse(
        503, "unavailable", "the server is behind writing to disk; try again shortly");
    r.headers.emplace_back("Retry-After", "1");
    return r;
  }

  void OnRequest(http::Request request, http::Reply reply) override {
    // Pages need nothing of the engine: answer them here, on the I/O thread.
    if (api::StaticFiles::Handles(request)) {
      reply(pages->Serve(request));
      return;
    }
    Post([this, request = std::move(request), reply = std::move(reply)]() mutable {
      if (MayWrite(request) && WritesPaused()) {
        reply(StoreBehind());  // before the API: nothing ran, nothing to wait for
        return;
      }
      engine.SetTime(WallMs());
      api::Outcome outcome;
      try {
        outcome = api->Handle(request);
      } catch (const std::exception& e) {
        // A bug, not bad input (the API turns bad input into 4xx). The request changed nothing
        // it could not finish, since handlers validate before they command the engine; keep
        // serving the others.
        spdlog::error("api: {} {}: unexpected exception: {}", request.method, request.path, e.what());
        outcome.response = api::ErrorResponse(500, "internal", "internal error");
        outcome.durable_seq = engine.last_seq();
      }
      Complete(std::move(outcome), std::move(reply));
    });
  }

  bool AcceptsWebSocket(const http::Request& upgrade) override {
    return upgrade.path == "/api/v1/events" || api::ChatHub::IsChatSocketPath(upgrade.path);
  }

  // Peer ids are unique across both hubs: a chat socket is the chat hub's, any other the
  // event hub's.
  void OnWsOpen(std::shared_ptr<http::WsPeer> peer, const http::Request& upgrade) override {
    Post([this, peer = std::move(peer), upgrade]() {
      engine.SetTime(WallMs());
      if (api::ChatHub::IsChatSocketPath(upgrade.path)) {
        chat_hub->Open(peer, upgrade);
      } else {
        hub->Open(peer, upgrade);
      }
    });
  }
  void OnWsMessage(std::uint64_t peer_id, std::string text) override {
    Post([this, peer_id, text = std::move(text)]() {
      engine.SetTime(WallMs());
      if (!chat_hub->Message(peer_id, text)) hub->Message(peer_id, text);
    });
  }
  void OnWsClose(std::uint64_t peer_id) override {
    Post([this, peer_id]() {
      if (!chat_hub->Close(peer_id)) hub->Close(peer_id);
    });
  }

  std::string ExtraMetrics() {
    const store::StoreStats s = store->Stats();
    std::string out;
    AppendMetric(out, "homeline_store_committed_events_total", "counter", s.committed_events);
    AppendMetric(out, "homeline_store_commits_total", "counter", s.commits);
    AppendMetric(out, "homeline_store_queued_events", "gauge", s.queued_events);
    AppendMetric(out, "homeline_store_full", "gauge", s.full ? 1 : 0);
    AppendMetric(out, "homeline_store_busy_retries_total", "counter", s.busy_retries);
    AppendMetric(out, "homeline_store_refused_writes_total", "counter", writes_refused);
    AppendMetric(out, "homeline_websocket_connections", "gauge", hub->connections());
    AppendMetric(out, "homeline_chat_visitor_connections", "gauge", chat_hub->connections());
    AppendMetric(out, "homeline_held_replies", "gauge", held.size());
    if (voice) out += voice->Metrics();
    if (registrar) {
      const sip::RegistrarStats r = registrar->stats();
      AppendMetric(out, "homeline_sip_phones_registered", "gauge", r.bindings);
      AppendMetric(out, "homeline_sip_registers_total", "counter", r.registers);
      AppendMetric(out, "homeline_sip_auth_failures_total", "counter", r.auth_failures);
      AppendMetric(out, "homeline_sip_auth_limited_total", "counter", r.auth_limited);
      AppendMetric(out, "homeline_sip_bindings_expired_total", "counter", r.expired);
      AppendMetric(out, "homeline_sip_qualify_failed_total", "counter", r.qualify_failed);
    }
    return out;
  }

  // ---- start and loop ------------------------------------------------------------------------

  Status Start() {
    if (!auth::Init()) return Fail(ErrorCode::kInternal, "libsodium failed to initialise");
    std::error_code ec;
    std::filesystem::create_directories(config.data_dir, ec);
    if (ec) return Fail(ErrorCode::kUnavailable, "cannot create " + config.data_dir + ": " + ec.message());
    const std::string db = (std::filesystem::path(config.data_dir) / "homeline.db").string();
    store::SqliteOptions so;
    so.fsync = config.fsync;
    so.max_queued_events = static_cast<std::size_t>(config.store_max_queued);
    auto opened = store::OpenSqliteStore(db, so);
    if (!opened) return std::unexpected(opened.error());
    store = std::move(*opened);

    const auto t0 = std::chrono::steady_clock::now();
    std::uint64_t replayed = 0;
    auto st = store->Replay([&](const store::StoredEvent& se) -> Status {
      auto body = core::DecodePayload(se.type, se.payload);
      if (!body) return std::unexpected(body.error());
      ++replayed;
      return engine.Replay(core::Event{se.seq, se.ts, se.tenant, std::move(*body)});
    });
    if (!st) return Fail(st.error().code, "replaying " + db + ": " + st.error().message);
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    spdlog::info("store: replayed {} events from {} in {:.3f} s", replayed, db, secs);
    durable = engine.last_seq();

    store->Start([this](std::uint64_t seq) { Post([this, seq] { OnDurable(seq); }); },
                 [this](const Error& e) {
                   Post([this, e] {
                     spdlog::critical("store: {}; stopping, since nothing more can be acknowledged", e.message);
                     fatal = e;
                     std::lock_guard lk(mu);
                     stopping = true;
                   });
                 });

    engine.SetTime(WallMs());
    engine.Recover();
    if (config.demo && replayed == 0) {
      if (auto s = SeedDemo(engine); !s) return Fail(s.error().code, "demo: " + s.error().message);
      spdlog::info("demo: created tenants acme and globex (users ada, sam, alice, bob, carol; password demo)");
    }
    api::ApiOptions ao;
    ao.secure_cookies = !config.tls_cert.empty();
    ao.data_dir = config.data_dir;
    ao.session_ttl = config.session_ttl_s * kSecond;
    ao.chat.visitor_burst = config.chat_visitor_burst;
    ao.chat.visitor_per_second = config.chat_visitor_per_second;
    ao.chat.address_burst = config.chat_address_burst;
    ao.chat.address_per_second = config.chat_address_per_second;
    ao.chat.visitor_timeout = config.chat_visitor_timeout_s * kSecond;
    api = std::make_unique<api::Api>(engine, ao);
    hub = std::make_unique<api::EventHub>(engine, *api);
    chat_hub = std::make_unique<api::ChatHub>(engine, api->chat());
    hub->SetDurable(durable);
    chat_hub->SetDurable(durable);
    api->chat().SetTypingSink([this](core::TenantId t, core::InteractionId id, core::ChatSender from, bool typing) {
      if (from == core::ChatSender::kVisitor) {
        hub->VisitorTyping(t, id, typing);
      } else {
        chat_hub->AgentTyping(id, typing);
      }
    });
    api->chat().SetWritesPaused([this] { return WritesPaused(); });
    api->SetExtraMetrics([this] { return ExtraMetrics(); });
    api->SetScheduleSolver(std::make_shared<solver::CbcSolver>());
    // Forecasts read the stored history on a worker thread (the store outlives the workers).
    api->SetEventScan([this](std::uint64_t tenant, TimeMs from,
                             const std::vector<std::string>& types, const auto& fn) {
      return store->ScanTenant(tenant, from, types, [&fn](const store::StoredEvent& e) {
        return fn(e.ts, e.type, e.payload);
      });
    });
    api->SetRecordingScan([this](std::uint64_t tenant, core::RecordingId id, const auto& fn) {
      return store->ScanRecording(tenant, id, [&fn](const store::StoredEvent& e) {
        return fn(e.ts, e.type, e.payload);
      });
    });
    FlushOutbox();
    workers = std::make_unique<WorkerPool>(2);

    pages = std::make_unique<api::StaticFiles>(config.web_dir);
    if (pages->root().empty())
      spdlog::warn("web: no directory {}; the browser pages will answer 404", config.web_dir);
    else
      spdlog::info("web: pages from {}", pages->root());

    http::Options ho;
    ho.host = config.http_host;
    ho.port = config.http_port;
    ho.threads = config.http_threads;
    ho.body_limit = config.body_limit;
    ho.tls_cert = config.tls_cert;
    ho.tls_key = config.tls_key;
    http = http::MakeServer(ho, this);
    if (auto s = http->Start(); !s) return s;
    spdlog::info("http: serving {}://{}:{}", config.tls_cert.empty() ? "http" : "https",
                 config.http_host.find(':') != std::string::npos ? "[" + config.http_host + "]" : config.http_host,
                 http->port());

    if (config.sip_enabled) {
      sip::StackOptions so;
      so.host = config.sip_host;
      so.port = config.sip_port;
      so.host6 = config.sip_ipv6;
      auto started = sip::SipStack::Start(so);
      if (!started) return std::unexpected(started.error());
      sip_stack = std::move(*started);
      spdlog::info("sip: listening on {}:{} (udp, tcp){}", sip_stack->host(), sip_stack->port(),
                   config.sip_ipv6.empty() ? "" : fmt::format(" and [{}]:{}", config.sip_ipv6, sip_stack->port()));
      // Phones: the registrar tells the engine (on this loop) and the agents' desktops.
      sip::RegistrarOptions ro;
      ro.qualify_interval_s = config.sip_qualify_s;
      ro.qualify_timeout_s = config.sip_qualify_timeout_s;
      registrar = std::make_unique<sip::Registrar>(*sip_stack, ro, [this](core::UserId u, bool registered) {
        Post([this, u, registered] {
          engine.SetPhone(u, registered);
          hub->AgentChanged(u);
        });
      });
      registrar->Install();
      for (const auto& [id, ha1] : engine.sip_credentials()) UpdateSipCredential(id);
      VoiceOptions vo;
      vo.data_dir = config.data_dir;
      vo.recordings_dir = (std::filesystem::path(config.data_dir) / "recordings").string();
      // RTP binds where SIP listens: IPv4 legs on the IPv4 address (loopback for a wildcard or
      // an IPv6-only --sip), IPv6 legs on the IPv6 one (sip.ipv6, or --sip's own).
      const bool sip_v6 = config.sip_host.find(':') != std::string::npos;
      vo.media_address = config.sip_host == "0.0.0.0" || sip_v6 ? "127.0.0.1" : config.sip_host;
      vo.media_address6 = !config.sip_ipv6.empty() ? config.sip_ipv6 : sip_v6 ? config.sip_host : "";
      // The calls code rings an agent's registered phone (looked up on the SIP thread).
      sip::BindingLookup bindings = [r = registrar.get()](const std::string& login) -> std::optional<sip::AgentBinding> {
        auto b = r->Lookup(login);
        if (!b) return std::nullopt;
        return sip::AgentBinding{b->contact, b->route};
      };
      auto v = Voice::Start(engine, *sip_stack, [this](std::function<void()> fn) { Post(std::move(fn)); },
                            std::move(bindings), vo);
      if (!v) return std::unexpected(v.error());
      voice = std::move(*v);
      api->SetVoiceAction([this](core::InteractionId id, const std::string& action) { return voice->Action(id, action); });
      sip::VoiceService& vs = voice->service();
      api::Api::VoiceMonitor monitor;
      monitor.start = [&vs](core::InteractionId id, core::UserId u, core::MonitorMode m) {
        return vs.StartMonitor(id, u, m);
      };
      monitor.change = [&vs](core::InteractionId id, core::MonitorMode m) { return vs.ChangeMonitor(id, m); };
      monitor.stop = [&vs](core::InteractionId id) { return vs.StopMonitor(id); };
      monitor.state = [&vs](core::InteractionId id) -> std::optional<api::Api::MonitorState> {
        auto m = vs.MonitorOf(id);
        if (!m) return std::nullopt;
        return api::Api::MonitorState{m->supervisor, m->mode, m->joined};
      };
      api->SetVoiceMonitor(std::move(monitor));
      api->SetTransferAction([this](const api::CallTransfer& t) { return voice->Transfer(t); });
      api->SetVoiceCall([this](core::UserId agent, core::TenantId t, core::QueueId q, const std::string& number) {
        return voice->CallNumber(agent, t, q, number);
      });
      api->SetVoiceTransfer([this](core::InteractionId id, const std::string& number) {
        return voice->TransferToNumber(id, number);
      });
    } else {
      spdlog::info("sip: off");
    }
    return {};
  }

  void Loop() {
    using Clock = std::chrono::steady_clock;
    auto next_tick = Clock::now();
    for (;;) {
      std::deque<std::function<void()>> tasks;
      {
        std::unique_lock lk(mu);
        auto wake = next_tick;
        if (auto d = engine.NextDeadline()) {
          const auto in = std::chrono::milliseconds(std::max<TimeMs>(0, *d - WallMs()));
          wake = std::min(wake, Clock::now() + in);
        }
        cv.wait_until(lk, wake, [&] { return stopping || !inbox.empty(); });
        if (stopping) break;
        tasks.swap(inbox);
      }
      engine.SetTime(WallMs());
      for (auto& fn : tasks) fn();
      engine.RunDue();
      FlushOutbox();
      // Statistics go out as soon as their events are durable; once a second for all, since
      // waiting times grow without events.
      if (Clock::now() >= next_tick) {
        hub->Tick(/*changed_only=*/false);
        chat_hub->Tick();
        if (voice) voice->Tick();
        FlushOutbox();  // visitors gone while waiting were just abandoned
        next_tick = Clock::now() + std::chrono::seconds(1);
      } else if (hub->HasChanges()) {
        hub->Tick(/*changed_only=*/true);
      }
    }
  }

  void Shutdown() {
    // A graceful stop answers what was already asked: run the requests still in the inbox,
    // commit everything, release the replies held for durability, and only then close the
    // connections (the HTTP server gives them a moment to flush). SIP stops first: what it
    // would post from now on could not be run.
    if (sip_stack) sip_stack->Stop();
    std::deque<std::function<void()>> tasks;
    {
      std::lock_guard lk(mu);
      tasks.swap(inbox);
    }
    if (api && hub && !fatal) {
      engine.SetTime(WallMs());
      for (auto& fn : tasks) fn();
      FlushOutbox();
    }
    if (store) store->Stop();
    if (api && hub && !fatal) OnDurable(engine.last_seq());
    if (http) http->Stop();
    workers.reset();
  }
};

App::App(Config config) : impl_(std::make_unique<Impl>(std::move(config))) {}
App::~App() = default;

Status App::Run() {
  if (auto s = impl_->Start(); !s) {
    impl_->Shutdown();
    return s;
  }
  impl_->Loop();
  impl_->Shutdown();
  if (impl_->fatal) return std::unexpected(*impl_->fatal);
  return {};
}

void App::Stop() {
  {
    std::lock_guard lk(impl_->mu);
    impl_->stopping = true;
  }
  impl_->cv.notify_all();
}

}  // namespace homeline::server
