"""A software passkey for the Lambda smoke: it answers the functions' WebAuthn options as a
browser with a platform authenticator would (`PublicKeyCredential.toJSON()`), with a P-256 key
(the `cryptography` package moto already brings) and just enough CBOR (RFC 8949: maps, integers,
byte and text strings) for an attestation object and a COSE key. WebAuthn Level 3: §6.1 the
authenticator data, §6.5.4 the attestation object, §8.7 attestation `none`."""
import base64
import hashlib
import json
import os
import struct

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec


def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _head(major, length):
    if length < 24:
        return bytes([major << 5 | length])
    for info, size in ((24, "B"), (25, ">H"), (26, ">I"), (27, ">Q")):
        if length < 256 ** struct.calcsize(size):
            return bytes([major << 5 | info]) + struct.pack(size, length)
    raise ValueError("too long")


def cbor(value):
    if isinstance(value, bool) or value is None:
        raise TypeError("not needed here")
    if isinstance(value, int):
        return _head(0, value) if value >= 0 else _head(1, -1 - value)
    if isinstance(value, bytes):
        return _head(2, len(value)) + value
    if isinstance(value, str):
        encoded = value.encode()
        return _head(3, len(encoded)) + encoded
    if isinstance(value, dict):
        return _head(5, len(value)) + b"".join(cbor(k) + cbor(v) for k, v in value.items())
    raise TypeError(type(value))


class SoftPasskey:
    UP, UV, AT = 0x01, 0x04, 0x40

    def __init__(self, origin, rp_id):
        self.origin, self.rp_id = origin, rp_id
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.credential_id = os.urandom(16)
        self.user_handle = b""
        self.counter = 0

    def _auth_data(self, flags):
        return hashlib.sha256(self.rp_id.encode()).digest() + bytes([flags]) + struct.pack(">I", self.counter)

    def _client_data(self, kind, challenge):
        return json.dumps({"type": kind, "challenge": challenge, "origin": self.origin, "crossOrigin": False}).encode()

    def create(self, options):
        """`navigator.credentials.create()` for `{"publicKey": …}`: the RegistrationResponseJSON."""
        public_key = options["publicKey"]
        self.user_handle = unb64(public_key["user"]["id"])
        self.counter = 1
        point = self.key.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
        cose_key = {1: 2, 3: -7, -1: 1, -2: point[1:33], -3: point[33:65]}
        auth_data = (self._auth_data(self.UP | self.UV | self.AT) + bytes(16)
                     + struct.pack(">H", len(self.credential_id)) + self.credential_id + cbor(cose_key))
        client_data = self._client_data("webauthn.create", public_key["challenge"])
        attestation = cbor({"fmt": "none", "attStmt": {}, "authData": auth_data})
        return {"id": b64(self.credential_id), "rawId": b64(self.credential_id), "type": "public-key",
                "response": {"clientDataJSON": b64(client_data), "attestationObject": b64(attestation),
                             "transports": ["internal"]},
                "clientExtensionResults": {}}

    def assert_(self, options):
        """`navigator.credentials.get()` for `{"publicKey": …}`: the AuthenticationResponseJSON."""
        self.counter += 1
        auth_data = self._auth_data(self.UP | self.UV)
        client_data = self._client_data("webauthn.get", options["publicKey"]["challenge"])
        signature = self.key.sign(auth_data + hashlib.sha256(client_data).digest(), ec.ECDSA(hashes.SHA256()))
        return {"id": b64(self.credential_id), "rawId": b64(self.credential_id), "type": "public-key",
                "response": {"clientDataJSON": b64(client_data), "authenticatorData": b64(auth_data),
                             "signature": b64(signature), "userHandle": b64(self.user_handle)},
                "clientExtensionResults": {}}
