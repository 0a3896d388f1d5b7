#!/usr/bin/env python3
# Misbehaving TLS clients for the interop tests, run on the kernel side: each case sends one kind of
# bad input to tunstack's TLS server and prints JSON saying which alert came back (plaintext before
# the handshake, decrypted with the session's keys after it).
#
#   tls-bad-input.py CASE HOST PORT CAFILE
#   CASE: truncated_client_hello | bad_lengths | flipped_tag_bit | oversized_record | ccs_after_handshake

import json
import socket
import ssl
import sys

ALERTS = {0: 'close_notify', 10: 'unexpected_message', 20: 'bad_record_mac', 22: 'record_overflow',
          40: 'handshake_failure', 42: 'bad_certificate', 47: 'illegal_parameter', 50: 'decode_error',
          51: 'decrypt_error', 70: 'protocol_version', 80: 'internal_error', 109: 'missing_extension'}


def recv_all(sock, timeout=5.0):
    sock.settimeout(timeout)
    out = b''
    try:
        while True:
            d = sock.recv(65536)
            if not d:
                break
            out += d
    except (socket.timeout, ConnectionResetError):
        pass
    return out


def tls_client(cafile, host):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.load_verify_locations(cafile)
    inc, outg = ssl.MemoryBIO(), ssl.MemoryBIO()
    return ctx.wrap_bio(inc, outg, server_hostname=host), inc, outg


def client_hello(cafile, host):
    obj, _inc, outg = tls_client(cafile, host)
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return outg.read()


def plaintext_alert(data):
    """The alert in the first record the server sent, if it is a plaintext alert record."""
    if len(data) >= 7 and data[0] == 21:
        return ALERTS.get(data[6], str(data[6]))
    return None


def handshake(sock, cafile, host):
    obj, inc, outg = tls_client(cafile, host)
    sock.settimeout(5.0)
    while True:
        try:
            obj.do_handshake()
            break
        except ssl.SSLWantReadError:
            if outg.pending:
                sock.sendall(outg.read())
            d = sock.recv(65536)
            if not d:
                raise RuntimeError('server closed during the handshake')
            inc.write(d)
    if outg.pending:
        sock.sendall(outg.read())
    return obj, inc, outg


def encrypted_alert(sock, obj, inc):
    """Reads until EOF and lets OpenSSL decrypt: the alert the server sent, by name."""
    data = recv_all(sock)
    inc.write(data)
    inc.write_eof()
    try:
        while True:
            if not obj.read(65536):
                return {'alert': None, 'note': 'clean EOF'}
    except ssl.SSLError as e:
        reason = e.reason or str(e)
        # "SSLV3_ALERT_BAD_RECORD_MAC", "TLSV1_ALERT_DECODE_ERROR" → "bad_record_mac", "decode_error"
        if 'ALERT_' in reason:
            return {'alert': reason.split('ALERT_', 1)[1].lower(), 'reason': reason}
        return {'alert': None, 'reason': reason}
    except ssl.SSLEOFError as e:
        return {'alert': None, 'reason': str(e)}


def main():
    case, host, port, cafile = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    sock = socket.create_connection((host, port), timeout=5)
    result = {'case': case}
    if case in ('truncated_client_hello', 'bad_lengths'):
        rec = bytearray(client_hello(cafile, host))
        body = rec[9:]
        if case == 'truncated_client_hello':
            # Cut the last 40 bytes and make both length fields agree: the record and the handshake
            # message are complete, the ClientHello inside is short (its extensions run off the end).
            body = body[:-40]
        else:
            # legacy_session_id length 32 → 200: the vector claims more than the message holds.
            body[2 + 32] = 200
        hs = bytes([1]) + len(body).to_bytes(3, 'big') + bytes(body)
        sock.sendall(bytes([22, 3, 1]) + len(hs).to_bytes(2, 'big') + hs)
        back = recv_all(sock)
        result.update({'alert': plaintext_alert(back), 'raw': back[:16].hex()})
    else:
        obj, inc, outg = handshake(sock, cafile, host)
        if case == 'flipped_tag_bit':
            obj.write(b'GET / HTTP/1.1\r\nHost: x\r\n\r\n')
            rec = bytearray(outg.read())
            rec[-1] ^= 0x01  # the last byte of the record is the last byte of the AEAD tag
            sock.sendall(bytes(rec))
        elif case == 'oversized_record':
            n = (1 << 14) + 256 + 1  # RFC 8446 §5.2: TLSCiphertext.length MUST NOT exceed 2^14 + 256
            sock.sendall(bytes([23, 3, 3]) + n.to_bytes(2, 'big') + bytes(n))
        elif case == 'ccs_after_handshake':
            sock.sendall(bytes([20, 3, 3, 0, 1, 1]))
        else:
            raise SystemExit(f'unknown case {case}')
        result.update(encrypted_alert(sock, obj, inc))
    sock.close()
    print(json.dumps(result))


if __name__ == '__main__':
    main()
