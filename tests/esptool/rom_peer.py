"""A stand-in ESP32-S3 for esptool: the ROM serial bootloader protocol over TCP.

esptool talks to it through `--port socket://127.0.0.1:PORT` exactly as it talks to a chip in
download mode over USB. Written from Espressif's serial-protocol description and from reading
what esptool sends (not copied): SLIP framing; requests `<BBHI` (direction 0, command, data
length, checksum) + data; responses `<BBHI` (direction 1, command, length, value) + data
ending in status bytes (4 from the ROM, 2 from the flasher stub: failed flag, error code).

It emulates what a flash write needs and checks it strictly: SYNC (answered 8 times),
READ_REG / WRITE_REG (a register file with a small SPI flash controller behind it, so
esptool's RDID / SFDP probes get a real answer), GET_SECURITY_INFO (chip id 9 = ESP32-S3),
SPI_ATTACH, SPI_SET_PARAMS, CHANGE_BAUDRATE, MEM_BEGIN/DATA/END (esptool's flasher stub is
"uploaded"; on MEM_END the peer greets with OHAI and speaks the stub dialect from then on),
FLASH_BEGIN/DATA/END and FLASH_DEFL_BEGIN/DATA/END (sequence numbers and the 0xEF-xor data
checksum checked, deflate streams inflated with zlib), ERASE_REGION and SPI_FLASH_MD5 over
what it actually stored. Every protocol violation is answered with a failure status and
recorded in `violations`, so a test can assert that esptool's session was clean.
"""

from __future__ import annotations

import hashlib
import socket
import struct
import threading
import zlib
from dataclasses import dataclass, field

SLIP_END, SLIP_ESC, SLIP_ESC_END, SLIP_ESC_ESC = 0xC0, 0xDB, 0xDC, 0xDD

SYNC, READ_REG, WRITE_REG = 0x08, 0x0A, 0x09
FLASH_BEGIN, FLASH_DATA, FLASH_END = 0x02, 0x03, 0x04
MEM_BEGIN, MEM_END, MEM_DATA = 0x05, 0x06, 0x07
SPI_SET_PARAMS, SPI_ATTACH, CHANGE_BAUDRATE = 0x0B, 0x0D, 0x0F
FLASH_DEFL_BEGIN, FLASH_DEFL_DATA, FLASH_DEFL_END = 0x10, 0x11, 0x12
SPI_FLASH_MD5, GET_SECURITY_INFO = 0x13, 0x14
ERASE_REGION = 0xD1

COMMAND_NAMES = {
    SYNC: "SYNC", READ_REG: "READ_REG", WRITE_REG: "WRITE_REG", FLASH_BEGIN: "FLASH_BEGIN",
    FLASH_DATA: "FLASH_DATA", FLASH_END: "FLASH_END", MEM_BEGIN: "MEM_BEGIN", MEM_END: "MEM_END",
    MEM_DATA: "MEM_DATA", SPI_SET_PARAMS: "SPI_SET_PARAMS", SPI_ATTACH: "SPI_ATTACH",
    CHANGE_BAUDRATE: "CHANGE_BAUDRATE", FLASH_DEFL_BEGIN: "FLASH_DEFL_BEGIN",
    FLASH_DEFL_DATA: "FLASH_DEFL_DATA", FLASH_DEFL_END: "FLASH_DEFL_END", SPI_FLASH_MD5: "SPI_FLASH_MD5",
    GET_SECURITY_INFO: "GET_SECURITY_INFO", ERASE_REGION: "ERASE_REGION",
}

# ROM error codes (second status byte) used here.
ERR_INVALID_MESSAGE, ERR_FAILED, ERR_BAD_CHECKSUM, ERR_FLASH_WRITE, ERR_DEFLATE = 0x05, 0x06, 0x07, 0x08, 0x0B

SYNC_PAYLOAD = b"\x07\x07\x12\x20" + 32 * b"\x55"
CHECKSUM_SEED = 0xEF
SECTOR = 0x1000

# The "chip" a peer pretends to be: how esptool tells chips apart and where the SPI flash
# controller's registers are (ESP32-S3 technical reference / esptool's target classes).
ESP32S3_CHIP_ID = 9
ESP32_MAGIC_VALUE = 0x00F01D83
CHIP_MAGIC_REG = 0x40001000
SPI_BASE = {"esp32s3": 0x60002000, "esp32": 0x3FF42000}
SPI_USR, SPI_USR2, SPI_MISO_DLEN, SPI_W0 = 0x18, 0x20, 0x28, 0x58
SPI_CMD_USR = 1 << 18
SFDP_SIGNATURE = 0x50444653  # "SFDP"
GIGADEVICE, NOR_TYPE = 0xC8, 0x40
SECURE_DOWNLOAD_FLAG = 1 << 2
SECURE_DOWNLOAD_REFUSED = (READ_REG, WRITE_REG, MEM_BEGIN, MEM_DATA, MEM_END, SPI_FLASH_MD5, ERASE_REGION)


def slip_encode(packet: bytes) -> bytes:
    body = packet.replace(b"\xdb", b"\xdb\xdd").replace(b"\xc0", b"\xdb\xdc")
    return b"\xc0" + body + b"\xc0"


def slip_decode(frame: bytes) -> bytes:
    return frame.replace(b"\xdb\xdc", b"\xc0").replace(b"\xdb\xdd", b"\xdb")


def xor_checksum(data: bytes) -> int:
    value = CHECKSUM_SEED
    for byte in data:
        value ^= byte
    return value


class ProtocolViolation(Exception):
    """esptool sent something a real ROM loader would refuse: answered with `code`."""

    def __init__(self, message: str, code: int = ERR_FAILED) -> None:
        super().__init__(message)
        self.code = code


@dataclass
class WriteSession:
    """One FLASH_BEGIN (or FLASH_DEFL_BEGIN) ... END sequence in progress."""

    offset: int
    size: int
    blocks: int
    block_size: int
    compressed: bool
    next_seq: int = 0
    written: int = 0
    inflater: "zlib._Decompress | None" = None


@dataclass
class PeerOptions:
    """How the stand-in chip behaves."""

    chip: str = "esp32s3"
    flash_size: int = 8 * 1024 * 1024
    silent: bool = False          # accept the connection but never answer (chip not in download mode)
    corrupt_md5: bool = False     # report a wrong MD5 (flash that does not keep what was written)
    secure_download: bool = False  # eFuse secure download mode: no register access, no MD5, no stub


@dataclass
class PeerLog:
    """What happened during the session, for the test to check."""

    commands: list[str] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    writes: list[tuple[int, int, bool]] = field(default_factory=list)  # (offset, bytes, compressed)
    bauds: list[int] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)  # commands secure download mode turned down
    stub_started: bool = False
    stub_bytes: int = 0


class RomPeer:
    """A TCP server that behaves like an ESP32-S3 in ROM download mode."""

    def __init__(self, options: PeerOptions | None = None) -> None:
        self.options = options or PeerOptions()
        self.flash = bytearray(b"\xff" * self.options.flash_size)
        self.log = PeerLog()
        self.registers: dict[int, int] = {}
        self.stub = False
        self._write: WriteSession | None = None
        self._ram: dict[str, int] | None = None
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.2)
        host, port = self._listener.getsockname()[:2]
        self.url = f"socket://{host}:{port}"
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="rom-peer", daemon=True)
        if self.options.chip == "esp32":
            self.registers[CHIP_MAGIC_REG] = ESP32_MAGIC_VALUE

    # ----------------------------------------------------------------- lifecycle

    def __enter__(self) -> "RomPeer":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stopping.set()
        self._thread.join(timeout=5)
        self._listener.close()

    def _serve(self) -> None:
        while not self._stopping.is_set():
            try:
                conn, _ = self._listener.accept()
            except (TimeoutError, OSError):
                continue
            with conn:
                conn.settimeout(0.2)
                conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                self._session(conn)

    def _session(self, conn: socket.socket) -> None:
        buffer = bytearray()
        while not self._stopping.is_set():
            try:
                chunk = conn.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                return
            if not chunk:
                return
            if self.options.silent:
                continue
            buffer += chunk
            for frame in self._frames(buffer):
                for reply in self._handle(slip_decode(frame)):
                    conn.sendall(slip_encode(reply))

    @staticmethod
    def _frames(buffer: bytearray) -> list[bytes]:
        """Complete SLIP frames at the front of `buffer` (consumed); bytes between frames
        are line noise and dropped, as the ROM does."""
        frames = []
        while True:
            start = buffer.find(SLIP_END)
            if start < 0:
                buffer.clear()
                return frames
            end = buffer.find(SLIP_END, start + 1)
            if end < 0:
                del buffer[:start]
                return frames
            body = bytes(buffer[start + 1:end])
            del buffer[:end]  # keep the closing 0xC0: it may open the next frame
            if body:
                frames.append(body)

    # ----------------------------------------------------------------- packets

    def _reply(self, op: int, value: int = 0, payload: bytes = b"", error: int = 0) -> bytes:
        status = bytes([1 if error else 0, error])
        if not self.stub:
            status += b"\x00\x00"  # the ROM's two reserved status bytes
        data = payload + status
        return struct.pack("<BBHI", 1, op, len(data), value) + data

    def _handle(self, packet: bytes) -> list[bytes]:
        if len(packet) < 8:
            self.log.violations.append(f"short packet of {len(packet)} bytes")
            return []
        direction, op, size, checksum = struct.unpack("<BBHI", packet[:8])
        data = packet[8:]
        name = COMMAND_NAMES.get(op, f"0x{op:02x}")
        self.log.commands.append(name)
        try:
            if direction != 0:
                raise ProtocolViolation(f"{name}: direction byte {direction}, requests use 0", ERR_INVALID_MESSAGE)
            if size != len(data):
                raise ProtocolViolation(f"{name}: header says {size} data bytes, packet has {len(data)}", ERR_INVALID_MESSAGE)
            return self._dispatch(op, data, checksum)
        except ProtocolViolation as problem:
            if self.options.secure_download and op in SECURE_DOWNLOAD_REFUSED:
                self.log.refused.append(COMMAND_NAMES[op])  # refused by design, esptool copes
            elif op in COMMAND_NAMES:
                self.log.violations.append(str(problem))
            return [self._reply(op, error=problem.code)]

    def _dispatch(self, op: int, data: bytes, checksum: int) -> list[bytes]:
        if op == SYNC:
            return self._sync(data)
        if self.options.secure_download and op in SECURE_DOWNLOAD_REFUSED:
            raise ProtocolViolation(f"{COMMAND_NAMES[op]} is refused in secure download mode", ERR_INVALID_MESSAGE)
        handler = {
            READ_REG: self._read_reg, WRITE_REG: self._write_reg, GET_SECURITY_INFO: self._security_info,
            SPI_ATTACH: self._spi_attach, SPI_SET_PARAMS: self._spi_set_params, CHANGE_BAUDRATE: self._change_baud,
            MEM_BEGIN: self._mem_begin, FLASH_BEGIN: self._flash_begin, FLASH_DEFL_BEGIN: self._flash_begin,
            FLASH_END: self._flash_end, FLASH_DEFL_END: self._flash_end, SPI_FLASH_MD5: self._md5,
            ERASE_REGION: self._erase_region,
        }.get(op)
        if op in (MEM_DATA, FLASH_DATA, FLASH_DEFL_DATA):
            value, payload = self._data_block(op, data, checksum)
            return [self._reply(op, value, payload)]
        if op == MEM_END:
            return self._mem_end(data)
        if handler is None:
            raise ProtocolViolation(f"unsupported command 0x{op:02x}", ERR_INVALID_MESSAGE)
        value, payload = handler(op, data)
        return [self._reply(op, value, payload)]

    # ----------------------------------------------------------------- commands

    def _sync(self, data: bytes) -> list[bytes]:
        if data != SYNC_PAYLOAD:
            raise ProtocolViolation("SYNC payload is not 07 07 12 20 + 32 x 55", ERR_INVALID_MESSAGE)
        if self.stub:
            return [self._reply(SYNC)]
        # The ROM answers a SYNC eight times with a non-zero value (the stub answers 0).
        return [self._reply(SYNC, value=0x20120707) for _ in range(8)]

    @staticmethod
    def _words(data: bytes, count: int, name: str) -> tuple[int, ...]:
        if len(data) < 4 * count:
            raise ProtocolViolation(f"{name}: needs {4 * count} bytes of arguments, got {len(data)}", ERR_INVALID_MESSAGE)
        return struct.unpack(f"<{count}I", data[:4 * count])

    def _read_reg(self, op: int, data: bytes) -> tuple[int, bytes]:
        (address,) = self._words(data, 1, "READ_REG")
        return self.registers.get(address, 0), b""

    def _write_reg(self, op: int, data: bytes) -> tuple[int, bytes]:
        if not data or len(data) % 16:
            raise ProtocolViolation(f"WRITE_REG: arguments come in 16-byte groups, got {len(data)} bytes", ERR_INVALID_MESSAGE)
        for start in range(0, len(data), 16):
            address, value, mask, _delay = struct.unpack("<IIII", data[start:start + 16])
            old = self.registers.get(address, 0)
            self.registers[address] = (old & ~mask) | (value & mask)
            self._spi_controller(address)
        return 0, b""

    def _spi_controller(self, address: int) -> None:
        """Run a user SPI command when esptool sets the USR bit in SPI_CMD, like the SPI0/1
        controller does: answer RDID with a GigaDevice 8 MB part and SFDP with its signature."""
        base = SPI_BASE.get(self.options.chip)
        if base is None or address != base or not self.registers[address] & SPI_CMD_USR:
            return
        command = self.registers.get(base + SPI_USR2, 0) & 0xFF
        flash_address = self.registers.get(base + 0x04, 0)
        capacity = self.options.flash_size.bit_length() - 1
        answer = 0
        if command == 0x9F:  # RDID: manufacturer, memory type, capacity (2^n bytes)
            answer = GIGADEVICE | (NOR_TYPE << 8) | (capacity << 16)
        elif command == 0x5A and flash_address == 0:  # SFDP header signature
            answer = SFDP_SIGNATURE
        self.registers[base + SPI_W0] = answer
        self.registers[address] &= ~SPI_CMD_USR

    def _security_info(self, op: int, data: bytes) -> tuple[int, bytes]:
        if self.options.chip != "esp32s3":
            raise ProtocolViolation("GET_SECURITY_INFO is not in the ESP32 ROM", ERR_INVALID_MESSAGE)
        # flags, flash_crypt_cnt, 7 key purposes, chip id, API version: nothing secured
        flags = SECURE_DOWNLOAD_FLAG if self.options.secure_download else 0
        return 0, struct.pack("<IBBBBBBBBII", flags, 0, 0, 0, 0, 0, 0, 0, 0, ESP32S3_CHIP_ID, 0)

    def _spi_attach(self, op: int, data: bytes) -> tuple[int, bytes]:
        expected = 4 if self.stub else 8
        if len(data) != expected:
            raise ProtocolViolation(f"SPI_ATTACH: {len(data)} bytes, expected {expected}", ERR_INVALID_MESSAGE)
        return 0, b""

    def _spi_set_params(self, op: int, data: bytes) -> tuple[int, bytes]:
        _id, total, block, sector, page, _mask = self._words(data, 6, "SPI_SET_PARAMS")
        if total > self.options.flash_size or (block, sector, page) != (0x10000, SECTOR, 0x100):
            raise ProtocolViolation(f"SPI_SET_PARAMS: size {total} block {block} sector {sector} page {page}")
        return 0, b""

    def _change_baud(self, op: int, data: bytes) -> tuple[int, bytes]:
        baud, _old = self._words(data, 2, "CHANGE_BAUDRATE")
        self.log.bauds.append(baud)
        return 0, b""

    def _mem_begin(self, op: int, data: bytes) -> tuple[int, bytes]:
        size, blocks, block_size, offset = self._words(data, 4, "MEM_BEGIN")
        if blocks != -(-size // block_size):
            raise ProtocolViolation(f"MEM_BEGIN: {blocks} blocks of {block_size} cannot hold {size} bytes")
        self._ram = {"size": size, "blocks": blocks, "block_size": block_size, "next_seq": 0, "received": 0}
        return 0, b""

    def _mem_end(self, data: bytes) -> list[bytes]:
        no_entry, _entry = self._words(data, 2, "MEM_END")
        if self._ram is not None and self._ram["received"] != self._ram["size"]:
            raise ProtocolViolation(f"MEM_END after {self._ram['received']} of {self._ram['size']} bytes")
        self._ram = None
        replies = [self._reply(MEM_END)]
        if no_entry == 0:  # jump to the uploaded code: esptool's flasher stub starts and says hello
            self.stub = True
            self.log.stub_started = True
            replies.append(b"OHAI")
        return replies

    def _flash_begin(self, op: int, data: bytes) -> tuple[int, bytes]:
        name = COMMAND_NAMES[op]
        size, blocks, block_size, offset = self._words(data, 4, name)
        extended = len(data) == 20
        if len(data) not in (16, 20) or (extended and data[16:20] != b"\x00\x00\x00\x00"):
            raise ProtocolViolation(f"{name}: {len(data)} argument bytes (encrypted writes are not emulated)", ERR_INVALID_MESSAGE)
        if offset + size > len(self.flash):
            raise ProtocolViolation(f"{name}: 0x{offset:x}+0x{size:x} is beyond the 0x{len(self.flash):x}-byte flash", ERR_FLASH_WRITE)
        compressed = op == FLASH_DEFL_BEGIN
        if not compressed and blocks != -(-size // block_size) and size:
            raise ProtocolViolation(f"{name}: {blocks} blocks of {block_size} for {size} bytes")
        end = min(len(self.flash), -(-(offset + size) // SECTOR) * SECTOR)
        start = offset - offset % SECTOR
        self.flash[start:end] = b"\xff" * (end - start)  # erase whole sectors, as flash does
        self._write = WriteSession(offset, size, blocks, block_size, compressed,
                                   inflater=zlib.decompressobj() if compressed else None)
        return 0, b""

    def _data_block(self, op: int, data: bytes, checksum: int) -> tuple[int, bytes]:
        name = COMMAND_NAMES[op]
        length, seq, _zero1, _zero2 = self._words(data, 4, name)
        block = data[16:]
        if length != len(block):
            raise ProtocolViolation(f"{name}: header says {length} bytes, block has {len(block)}", ERR_INVALID_MESSAGE)
        if checksum != xor_checksum(block):
            raise ProtocolViolation(f"{name} seq {seq}: checksum 0x{checksum:02x}, data gives 0x{xor_checksum(block):02x}", ERR_BAD_CHECKSUM)
        if op == MEM_DATA:
            return self._ram_block(seq, block)
        return self._flash_block(op, seq, block)

    def _ram_block(self, seq: int, block: bytes) -> tuple[int, bytes]:
        ram = self._ram
        if ram is None:
            raise ProtocolViolation("MEM_DATA without MEM_BEGIN")
        if seq != ram["next_seq"]:
            raise ProtocolViolation(f"MEM_DATA seq {seq}, expected {ram['next_seq']}")
        ram["next_seq"] += 1
        ram["received"] += len(block)
        self.log.stub_bytes += len(block)
        return 0, b""

    def _flash_block(self, op: int, seq: int, block: bytes) -> tuple[int, bytes]:
        session = self._write
        name = COMMAND_NAMES[op]
        if session is None or session.compressed != (op == FLASH_DEFL_DATA):
            raise ProtocolViolation(f"{name} without a matching begin")
        if seq != session.next_seq:
            raise ProtocolViolation(f"{name} seq {seq}, expected {session.next_seq}")
        if seq >= session.blocks:
            raise ProtocolViolation(f"{name} seq {seq}: only {session.blocks} blocks were announced")
        if session.compressed:
            assert session.inflater is not None
            try:
                payload = session.inflater.decompress(block)
            except zlib.error as problem:
                raise ProtocolViolation(f"{name} seq {seq}: bad deflate stream ({problem})", ERR_DEFLATE) from problem
        else:
            if len(block) != session.block_size:
                raise ProtocolViolation(f"{name} seq {seq}: {len(block)} bytes, blocks are {session.block_size}")
            payload = block
        start = session.offset + session.written
        if start + len(payload) > len(self.flash):
            raise ProtocolViolation(f"{name} seq {seq}: write past the end of flash", ERR_FLASH_WRITE)
        # NOR flash can only clear bits: programming ANDs with what the erase left (0xFF).
        current = self.flash[start:start + len(payload)]
        self.flash[start:start + len(payload)] = bytes(a & b for a, b in zip(current, payload))
        session.written += len(payload)
        session.next_seq += 1
        self.log.writes.append((start, len(payload), session.compressed))
        return 0, b""

    def _flash_end(self, op: int, data: bytes) -> tuple[int, bytes]:
        (_stay,) = self._words(data, 1, COMMAND_NAMES[op])
        session = self._write
        if session is not None and session.compressed and session.inflater is not None and not session.inflater.eof:
            self._write = None
            raise ProtocolViolation(f"{COMMAND_NAMES[op]}: the deflate stream is incomplete", ERR_DEFLATE)
        self._write = None
        return 0, b""

    def _erase_region(self, op: int, data: bytes) -> tuple[int, bytes]:
        if not self.stub:
            raise ProtocolViolation("ERASE_REGION is a stub command", ERR_INVALID_MESSAGE)
        offset, size = self._words(data, 2, "ERASE_REGION")
        if offset % SECTOR or size % SECTOR or offset + size > len(self.flash):
            raise ProtocolViolation(f"ERASE_REGION 0x{offset:x}+0x{size:x} not sector aligned or too large")
        self.flash[offset:offset + size] = b"\xff" * size
        return 0, b""

    def _md5(self, op: int, data: bytes) -> tuple[int, bytes]:
        address, size, _zero1, _zero2 = self._words(data, 4, "SPI_FLASH_MD5")
        if address + size > len(self.flash):
            raise ProtocolViolation(f"SPI_FLASH_MD5 0x{address:x}+0x{size:x} beyond flash", ERR_FLASH_WRITE)
        digest = hashlib.md5(bytes(self.flash[address:address + size])).digest()
        if self.options.corrupt_md5:
            digest = bytes([digest[0] ^ 0x01]) + digest[1:]
        # The ROM answers in 32 hex characters, the stub in 16 raw bytes.
        return 0, digest if self.stub else digest.hex().encode()
