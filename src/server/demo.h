#pragma once
// The demo tenants of the quick start and the tests: acme (Acme Retail) and globex.
// See README.md for the users and queues it creates.

#include "common/result.h"

namespace homeline::core {
class Engine;
}

namespace homeline::server {

// Creates the demo data through ordinary engine commands (so it is stored as events).
// Hashes passwords: takes a fraction of a second.
[[nodiscard]] Status SeedDemo(core::Engine& engine);

}  // namespace homeline::server
