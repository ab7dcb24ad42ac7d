/*
 * promptdaw bridge: CurveZMQ keys for a daemon that listens beyond loopback.
 *
 * The daemon refuses a non-loopback endpoint without CurveZMQ (docs/protocol.md, "Security").
 * Clients name two files made by `promptdaw keys DIR`, the same two the Python client reads:
 *   $PROMPTDAW_SERVER_KEY  the daemon's public certificate (DIR/server.key)
 *   $PROMPTDAW_CLIENT_KEY  this client's secret certificate (DIR/client.key_secret)
 * Both are ZeroMQ certificate files (zmq_z85 keys in `public-key = "..."` lines).
 */

#pragma once

#include <string>

namespace promptdaw {

/** Z85-encoded (40 characters) keys; all empty means a plain (NULL mechanism) connection. */
struct CurveKeys {
    std::string serverPublic;
    std::string clientPublic;
    std::string clientSecret;

    bool empty() const noexcept { return serverPublic.empty(); }
};

/** True for endpoints no other machine can reach: 127.0.0.0/8, ::1, localhost, ipc://, inproc://. */
bool isLoopbackEndpoint(const std::string& endpoint);

/** Reads the `public-key` and (when present) `secret-key` of a ZeroMQ certificate file. */
bool readCertificate(const std::string& path, std::string& publicKey, std::string& secretKey, std::string& error);

/** Keys from a server public certificate and a client secret certificate. */
bool loadCurveKeys(const std::string& serverKeyFile, const std::string& clientKeyFile, CurveKeys& keys,
                   std::string& error);

/** Keys from $PROMPTDAW_SERVER_KEY and $PROMPTDAW_CLIENT_KEY; empty keys (and true) when neither is set. */
bool curveKeysFromEnvironment(CurveKeys& keys, std::string& error);

} // namespace promptdaw
