"""libtorrent's view of .torrent files, for the CLI tests (python3-libtorrent 2.0.8).

  lt_torrent.py make <path> <out.torrent> v1|hybrid   create a torrent of a file or folder
  lt_torrent.py load <file.torrent>                   parse one (e.g. written by trackerless)

Both print one JSON line: infoHash (v1, hex), name, pieceLength, numPieces, totalSize and
files [{path, size, pad}] in torrent order (path '/'-joined, the torrent name first).
"""
import json
import os
import sys

import libtorrent as lt


def describe(ti):
    fs = ti.files()
    files = []
    for i in range(fs.num_files()):
        files.append({
            "path": fs.file_path(i).replace(os.sep, "/"),
            "size": fs.file_size(i),
            "pad": bool(fs.file_flags(i) & lt.file_storage.flag_pad_file),
        })
    return {
        "infoHash": str(ti.info_hashes().v1),
        "name": ti.name(),
        "pieceLength": ti.piece_length(),
        "numPieces": ti.num_pieces(),
        "totalSize": ti.total_size(),
        "files": files,
    }


def make(path, out, kind):
    fs = lt.file_storage()
    lt.add_files(fs, path)
    flags = lt.create_torrent.v1_only if kind == "v1" else 0
    ct = lt.create_torrent(fs, 0, flags)
    ct.set_creator("libtorrent %s" % lt.__version__)
    lt.set_piece_hashes(ct, os.path.dirname(os.path.abspath(path)))
    data = lt.bencode(ct.generate())
    with open(out, "wb") as f:
        f.write(data)
    return describe(lt.torrent_info(lt.bdecode(data)))


def main():
    if sys.argv[1] == "make":
        result = make(sys.argv[2], sys.argv[3], sys.argv[4])
    elif sys.argv[1] == "load":
        with open(sys.argv[2], "rb") as f:
            result = describe(lt.torrent_info(lt.bdecode(f.read())))
    else:
        raise SystemExit("usage: lt_torrent.py make <path> <out> v1|hybrid | load <file>")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
