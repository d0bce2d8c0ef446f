#pragma once
// The server: wires the engine, the event store, the HTTP/WebSocket server and the API.
//
// Threads:
//  - the engine loop (the thread that calls Run): owns the Engine, the Api and the EventHub;
//    everything else posts closures to it;
//  - the store's writer thread (group commit), which reports durability back to the loop;
//  - the HTTP server's I/O threads;
//  - a small worker pool for password hashing.
// A reply to an API write is held until the store reports its events durable.

#include <atomic>
#include <functional>
#include <memory>

#include "common/result.h"
#include "server/config.h"

namespace homeline::server {

class App {
 public:
  explicit App(Config config);
  ~App();

  // Opens the store, replays it, recovers, seeds the demo (first start only), starts serving,
  // and runs the engine loop until Stop() or SIGINT/SIGTERM. Returns when stopped.
  [[nodiscard]] Status Run();
  // Safe from any thread and from a signal-watching thread.
  void Stop();

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace homeline::server
