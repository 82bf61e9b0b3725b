"""ANPR/OCR camera event feed: a camera (or a recognition box beside it) that pushes
its reads as JSON lines over TCP, as many gate ANPR units do.

    async with AnprFeed(AnprFeedSettings(host="10.0.0.7", port=9100)) as feed:
        async for read in feed.readings():
            print(read.kind, read.text, read.confidence)

One line per read, UTF-8 JSON:
    {"kind": "plate", "text": "AB123CD", "confidence": 0.93, "camera": "front",
     "at": "2026-11-22T10:00:00.120Z", "region": "EU"}
    {"kind": "container", "text": "MSCU1234565", "confidence": 0.88, "camera": "top",
     "at": "...", "size_type": "22G1"}
"""

from drivers.anpr.feed import AnprError, AnprFeed, AnprFeedSettings, AnprRead, parse_line

__all__ = ["AnprError", "AnprFeed", "AnprFeedSettings", "AnprRead", "parse_line"]
