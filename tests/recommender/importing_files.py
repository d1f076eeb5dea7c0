"""Tiny synthetic data-set files in each supported layout, for importer tests."""
from pathlib import Path

ML100K_ITEMS = [
    "1|Toy Story (1995)|01-Jan-1995||http://x|0|0|0|1|1|1|0|0|0|0|0|0|0|0|0|0|0|0|0",
    "2|GoldenEye (1995)|01-Jan-1995||http://x|0|1|1|0|0|0|0|0|0|0|0|0|0|0|0|0|1|0|0",
    "3|Caf\xe9 Society|01-Jan-1996||http://x|1|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0",
]
ML100K_DATA = ["1\t1\t5\t881250949", "1\t2\t3\t881250950", "2\t1\t4\t881250960", "2\t3\t1\t881250949"]


def write_lines(path: Path, lines: list[str], encoding: str = "utf-8", newline: str = "\n") -> Path:
    """Write `lines` to `path` with the given encoding and line ending; return the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(newline.join(lines).encode(encoding) + newline.encode())
    return path


def write_bytes(path: Path, data: bytes) -> Path:
    """Write raw bytes (a file cut off, a huge line) to `path`; return the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def ml100k(base: Path, *, data: list[str] | None = None, items: list[str] | None = None) -> Path:
    """Write a three-item, two-person MovieLens 100K directory."""
    write_lines(base / "u.item", ML100K_ITEMS if items is None else items, "latin-1")
    write_lines(base / "u.data", ML100K_DATA if data is None else data)
    write_lines(base / "u.user", ["1|24|M|technician|85711", "2|53|F|other|94043"])
    write_lines(base / "u.genre", [f"{g}|{k}" for k, g in enumerate(
        ["unknown", "Action", "Adventure", "Animation", "Children's", "Comedy"] + [f"G{k}" for k in range(6, 19)]
    )] + [""])
    return base


def ml1m_movies(base: Path) -> None:
    """Write movies.dat (latin-1) and users.dat for three films and two people."""
    write_lines(base / "movies.dat", [
        "1::Toy Story (1995)::Animation|Children's|Comedy",
        "2::Jumanji (1995)::Adventure|Children's|Fantasy",
        "10::Am\xe9lie (2001)::Comedy|Romance",
    ], "latin-1")
    write_lines(base / "users.dat", ["1::F::1::10::48067", "7::M::56::16::70072"])


def ml1m_ratings(base: Path) -> Path:
    """Write an ml-1m directory with ratings.dat."""
    ml1m_movies(base)
    write_lines(base / "ratings.dat", ["1::10::5::978300760", "1::1::3::978302109", "7::2::4::978301968"])
    return base


def ml1m_sasrec(base: Path, *, sequence: list[str] | None = None, item_map: list[str] | None = None) -> Path:
    """Write an ml-1m directory with the SASRec file ml-1m.txt and its id maps."""
    ml1m_movies(base)
    write_lines(base / "ml-1m.txt", sequence or ["1 1", "1 2", "1 3", "2 2", "2 1"])
    write_lines(base / "sas_to_original_items.txt", item_map or ["1 10", "2 1", "3 2"])
    write_lines(base / "sas_to_original_users.txt", ["1 7", "2 1"])
    return base


def ml_latest(base: Path) -> Path:
    """Write an ml-latest directory (UTF-8, CRLF, header rows) with tags."""
    write_lines(base / "movies.csv", [
        "movieId,title,genres", '1,"Toy Story (1995)",Adventure|Animation',
        '2,"Heat, Again (2006\u20132007)",(no genres listed)', "3,Babylon 5,Sci-Fi",
    ], newline="\r\n")
    write_lines(base / "ratings.csv", [
        "userId,movieId,rating,timestamp", "1,1,4.5,964982703", "1,3,0.5,964981247", "2,2,5.0,964982224",
    ], newline="\r\n")
    write_lines(base / "tags.csv", [
        "userId,movieId,tag,timestamp", "1,1,pixar,1445714994", "2,1,Pixar,1445714996", "2,3,space,1445715000",
    ], newline="\r\n")
    return base


# Malformed inputs: case -> (writer into a directory, file named in the error, line, text).
BAD_CASES = {
    "bad int": (lambda p: ml100k(p, data=ML100K_DATA[:2] + ["2\tx\t4\t881250960"]),
                "u.data", 3, "item id 'x' is not a whole number"),
    "field count": (lambda p: ml100k(p, items=ML100K_ITEMS[:1] + ["2|GoldenEye (1995)|x"]),
                    "u.item", 2, "expected 24 fields"),
    "unknown item": (lambda p: ml100k(p, data=["1\t1\t5\t881250949", "1\t99\t5\t881250949"]),
                     "u.data", 2, "item 99 is not in u.item"),
    "rating range": (lambda p: ml100k(p, data=["1\t1\t6\t881250949"]), "u.data", 1, "outside 0.5-5.0"),
    "milliseconds": (lambda p: ml100k(p, data=["1\t1\t5\t881250949000"]), "u.data", 1, "in the future"),
    "empty file": (lambda p: ml100k(p, data=[""]), "u.data", None, "the file is empty"),
    "id not in map": (lambda p: ml1m_sasrec(p, sequence=["1 1", "1 2", "2 1", "2 9"]),
                      "ml-1m.txt", 4, "item '9' is not in sas_to_original_items.txt"),
    "map target": (lambda p: ml1m_sasrec(p, item_map=["1 10", "2 4000", "3 2"]),
                   "sas_to_original_items.txt", 2, "original item id 4000 is not in movies.dat"),
    "encoding": (lambda p: (ml_latest(p), write_lines(
        p / "ratings.csv", ["userId,movieId,rating,timestamp", "1,1,4,964982703", "1,\xe92,4,964982703"], "latin-1")),
                 "ratings.csv", 3, "not valid UTF-8"),
    "header": (lambda p: (ml_latest(p), write_lines(p / "movies.csv", ["id,name", "1,x"])),
               "movies.csv", 1, "expected the header movieId,title,genres"),
    "kind": (lambda p: write_lines(p / "events.csv", ["u,i,1700000000,view", "u,i,1700000000,poke"]),
             "events.csv", 2, "kind 'poke' is not one of"),
    "time": (lambda p: write_lines(p / "events.csv", ["u,i,1700000000", "u,i,yesterday"]),
             "events.csv", 2, "neither unix seconds nor ISO 8601"),
    "not in items": (lambda p: (write_lines(p / "items.csv", ["a,Alpha"]),
                                write_lines(p / "events.csv", ["u,a,1700000000", "u,b,1700000000"])),
                     "events.csv", 2, "item b is not in"),
    "lonely user": (lambda p: write_lines(p / "s.txt", ["1 2", "", "3"]), "s.txt", 3, "at least one item"),
    # `1,2,1700000000,rate,4` cut off by a full disk or an interrupted copy.
    "cut off": (lambda p: write_bytes(p / "events.csv", b"1,1,1700000000,rate,4\n1,2,17000"),
                "events.csv", 2, "the file looks cut off"),
    "value on a view": (lambda p: write_lines(p / "events.csv", ["u,i,1700000000,view,3"]),
                        "events.csv", 1, "only a rating has a value"),
    "before 1970": (lambda p: write_lines(p / "events.csv", ["u,i,1969-12-31T23:59:59Z"]),
                    "events.csv", 1, "before 1970"),
    "long line": (lambda p: write_bytes(p / "s.txt", b"1" + b" 2" * (3 << 20) + b"\n"),
                  "s.txt", 1, "longer than 4 MiB"),
}
