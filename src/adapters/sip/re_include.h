#pragma once
// libre's headers are C and expect the system headers they use to be included first. Only the
// SIP adapter's .cc files include this; public headers forward-declare what they name.

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <array>
#include <cstdarg>
#include <cstddef>
#include <cstdint>

// The headers use C idioms C++20 deprecates (volatile parameters).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wvolatile"
extern "C" {
#include <re.h>
#define DEBUG_MODULE "homeline"
#define DEBUG_LEVEL 0
#include <re_dbg.h>
}
#pragma GCC diagnostic pop
