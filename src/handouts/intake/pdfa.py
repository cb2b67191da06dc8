"""Make a pypdf writer's (flattened) document a PDF/A-3b file.

PDF/A-3 (ISO 19005-3), conformance level B (the pages look right for good), rather than
PDF/A-2b: only PDF/A-3 may embed a file that is not itself PDF/A, and the archive embeds the
filled form exactly as received (with its form fields and unembedded ZapfDingbats), marked as
the archive's /Source. What this module adds or removes:

- an XMP metadata stream (pdfaid part and conformance; title, author, subject, keywords,
  producer, creator tool, creation and modification dates, each equal to its /Info entry);
- an output intent with an sRGB ICC profile (WeasyPrint's own sRGB2014.icc), which gives
  the DeviceRGB and DeviceGray colours of the pages their meaning;
- the file identifier (/ID), no encryption, a PDF 1.7 header;
- no JavaScript or other forbidden actions (/AA, Launch, ...), no interpolated images,
  every remaining annotation printable;
- every object nothing refers to any more (the removed form, its ZapfDingbats font).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib.util
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from pypdf import PdfWriter
from pypdf.generic import (
    ArrayObject,
    BooleanObject,
    ByteStringObject,
    DecodedStreamObject,
    DictionaryObject,
    NameObject,
    NumberObject,
    StreamObject,
    TextStringObject,
)

PART, CONFORMANCE = 3, "B"
HEADER = "%PDF-1.7"  # PDF/A-2 and -3 are based on ISO 32000-1 (PDF 1.7)
SRGB_NAME = "sRGB IEC61966-2.1"
# ISO 19005-2/-3, 6.5.1: actions a PDF/A file must not contain; named actions other than
# these four page moves are forbidden too.
FORBIDDEN_ACTIONS = {
    "/Launch",
    "/Sound",
    "/Movie",
    "/ResetForm",
    "/ImportData",
    "/Hide",
    "/SetOCGState",
    "/Rendition",
    "/Trans",
    "/GoTo3DView",
    "/JavaScript",
}
ALLOWED_NAMED = {"/NextPage", "/PrevPage", "/FirstPage", "/LastPage"}
# Annotation flags: Invisible, Hidden, NoView, ToggleNoView must be off, Print on.
FLAGS_OFF = 1 | 2 | 32 | 256
PRINT = 4
# Catalog entries PDF/A forbids, or that pointed at what the archive removed or replaces.
# /Extensions declared what the form used and the record does not carry: a certified form's
# signature (ETSI's ESIC extension), its encryption (Adobe's); the record's seal declares its own.
CATALOG_DROPPED = (
    "/AA", "/AcroForm", "/Perms", "/Requirements", "/Version", "/Extensions", "/AF", "/Metadata"
)  # fmt: skip
_PDF_DATE = re.compile(
    r"D:(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?(?:(Z)|([+-])(\d{2})'?(\d{2})?'?)?$"
)


@dataclass(frozen=True)
class Attachment:
    """A file to embed as an associated file of the whole document."""

    name: str
    data: bytes
    description: str
    mime: str = "application/pdf"
    relationship: str = "/Source"


def make_pdfa3b(
    writer: PdfWriter,
    *,
    modified: dt.datetime | None,
    attachment: Attachment | None,
    file_id: tuple[bytes, bytes],
    producer_note: str,
) -> None:
    """Make writer's flattened document PDF/A-3b in place; modified (if not before creation) is /ModDate."""
    root: Any = writer.root_object
    for key in CATALOG_DROPPED:
        root.pop(NameObject(key), None)
    names = root.get("/Names")
    if names is not None:
        names = names.get_object()
        for key in ("/JavaScript", "/EmbeddedFiles", "/AlternatePresentations"):
            names.pop(NameObject(key), None)
    _sanitise(writer)
    info = _normalise_info(writer, modified, producer_note)
    root[NameObject("/Metadata")] = writer._add_object(_xmp_stream(info))
    root[NameObject("/OutputIntents")] = ArrayObject([writer._add_object(_output_intent(writer))])
    if attachment is not None:
        _attach(writer, attachment, _parse_pdf_date(info.get("/ModDate") or info.get("/CreationDate")))
    writer.pdf_header = HEADER
    writer._ID = ArrayObject(ByteStringObject(part) for part in file_id)
    _drop_unreachable(writer)


def _reachable(writer: PdfWriter, seen: set[int] | None = None) -> Iterator[DictionaryObject]:
    """Every dictionary (and stream) reachable from the catalog and the info dictionary.

    The numbers of the indirect objects met are added to seen.
    """
    from handouts.intake.active import walk

    roots: list[Any] = [writer.root_object.indirect_reference]
    if writer._info is not None:
        roots.append(writer._info.indirect_reference)
    return walk(roots, seen)


def _sanitise(writer: PdfWriter) -> None:
    for obj in list(_reachable(writer)):
        obj.pop(NameObject("/AA"), None)
        for key in ("/A", "/OpenAction"):
            if key in obj and _forbidden(obj[key]):
                del obj[key]
        if "/Next" in obj:
            following = obj["/Next"].get_object()
            if isinstance(following, ArrayObject):
                obj[NameObject("/Next")] = ArrayObject(a for a in following if not _forbidden(a))
            elif _forbidden(following):
                del obj["/Next"]
        for key in ("/Pattern", "/Shading"):
            # WeasyPrint's page resources always carry both, usually empty; an empty one
            # means nothing, and validators that cannot judge patterns then stop short.
            value = obj.get(key)
            if isinstance(value, DictionaryObject) and not value and "/PatternType" not in obj:
                del obj[key]
        if obj.get("/Subtype") == "/Image" and "/Interpolate" in obj:
            obj[NameObject("/Interpolate")] = BooleanObject(False)
        if obj.get("/Type") == "/Annot" or (obj.get("/Subtype") == "/Link" and "/Rect" in obj):
            flags = int(obj.get("/F", 0))
            obj[NameObject("/F")] = NumberObject((flags | PRINT) & ~FLAGS_OFF)


def _forbidden(action: Any) -> bool:
    action = action.get_object()
    if not isinstance(action, DictionaryObject):
        return False  # a destination array, not an action
    kind = action.get("/S")
    return kind in FORBIDDEN_ACTIONS or (kind == "/Named" and action.get("/N") not in ALLOWED_NAMED)


def _parse_pdf_date(value: Any) -> dt.datetime | None:
    """Parse a PDF date string (D:YYYYMMDDHHmmSS+HH'mm'); a missing zone is taken as UTC."""
    match = _PDF_DATE.match(str(value or "").strip())
    if not match:
        return None
    year, month, day, hour, minute, second, zulu, sign, tzh, tzm = match.groups()
    offset = dt.timedelta(hours=int(tzh or 0), minutes=int(tzm or 0)) if sign and not zulu else dt.timedelta()
    try:
        return dt.datetime(
            int(year),
            int(month or 1),
            int(day or 1),
            int(hour or 0),
            int(minute or 0),
            int(second or 0),
            tzinfo=dt.timezone(-offset if sign == "-" else offset),
        )
    except ValueError:
        return None


def pdf_date(value: dt.datetime) -> str:
    offset = value.utcoffset() or dt.timedelta()
    sign = "-" if offset < dt.timedelta() else "+"
    minutes = abs(int(offset.total_seconds())) // 60
    return f"D:{value:%Y%m%d%H%M%S}{sign}{minutes // 60:02d}'{minutes % 60:02d}'"


def xmp_date(value: dt.datetime) -> str:
    offset = value.utcoffset() or dt.timedelta()
    sign = "-" if offset < dt.timedelta() else "+"
    minutes = abs(int(offset.total_seconds())) // 60
    return f"{value:%Y-%m-%dT%H:%M:%S}{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def _normalise_info(writer: PdfWriter, modified: dt.datetime | None, note: str) -> dict[str, Any]:
    """Rewrite /Info so every entry XMP mirrors is text and both dates are in one format."""
    raw: Any = writer.metadata or {}
    info: dict[str, Any] = {str(k): raw.raw_get(k).get_object() for k in raw}
    info.pop("/Trapped", None)  # would need pdf:Trapped; says nothing about a record
    created = _parse_pdf_date(info.pop("/CreationDate", None))
    last = _parse_pdf_date(info.pop("/ModDate", None))
    if modified is not None and (created is None or modified >= created):
        last = modified
    if created is not None:
        info["/CreationDate"] = pdf_date(created)
    if last is not None:
        info["/ModDate"] = pdf_date(last)
    original = str(info.get("/Producer") or "").strip()
    info["/Producer"] = f"{original}; {note}" if original else note
    writer.metadata = {k: str(v) for k, v in info.items()}
    return info


def _xmp_stream(info: dict[str, Any]) -> StreamObject:
    """The XMP packet; its properties equal the /Info entries (ISO 19005-3, 6.6.2.3)."""

    def text(key: str) -> str | None:
        value = info.get(key)
        return escape(str(value)) if value is not None and str(value) else None

    def alt(value: str) -> str:
        return f'<rdf:Alt><rdf:li xml:lang="x-default">{value}</rdf:li></rdf:Alt>'

    props = [
        f"<pdfaid:part>{PART}</pdfaid:part>",
        f"<pdfaid:conformance>{CONFORMANCE}</pdfaid:conformance>",
        "<dc:format>application/pdf</dc:format>",
    ]
    if title := text("/Title"):
        props.append(f"<dc:title>{alt(title)}</dc:title>")
    if author := text("/Author"):
        props.append(f"<dc:creator><rdf:Seq><rdf:li>{author}</rdf:li></rdf:Seq></dc:creator>")
    if subject := text("/Subject"):
        props.append(f"<dc:description>{alt(subject)}</dc:description>")
    if keywords := text("/Keywords"):
        props.append(f"<pdf:Keywords>{keywords}</pdf:Keywords>")
    if producer := text("/Producer"):
        props.append(f"<pdf:Producer>{producer}</pdf:Producer>")
    if creator := text("/Creator"):
        props.append(f"<xmp:CreatorTool>{creator}</xmp:CreatorTool>")
    for key, prop in (("/CreationDate", "xmp:CreateDate"), ("/ModDate", "xmp:ModifyDate")):
        when = _parse_pdf_date(info.get(key))
        if when is not None:
            props.append(f"<{prop}>{xmp_date(when)}</{prop}>")
            if key == "/ModDate":
                props.append(f"<xmp:MetadataDate>{xmp_date(when)}</xmp:MetadataDate>")
    body = "\n   ".join(props)
    packet = (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/">\n'
        ' <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">\n'
        '  <rdf:Description rdf:about=""\n'
        '    xmlns:pdfaid="http://www.aiim.org/pdfa/ns/id/"\n'
        '    xmlns:dc="http://purl.org/dc/elements/1.1/"\n'
        '    xmlns:pdf="http://ns.adobe.com/pdf/1.3/"\n'
        '    xmlns:xmp="http://ns.adobe.com/xap/1.0/">\n'
        f"   {body}\n"
        "  </rdf:Description>\n"
        " </rdf:RDF>\n"
        "</x:xmpmeta>\n"
        '<?xpacket end="w"?>'
    )
    stream = DecodedStreamObject()
    # Left unfiltered, so that tools that look for the packet by its bytes find it.
    stream.set_data(packet.encode("utf-8"))
    stream[NameObject("/Type")] = NameObject("/Metadata")
    stream[NameObject("/Subtype")] = NameObject("/XML")
    return stream


def srgb_profile() -> bytes:
    """WeasyPrint's sRGB ICC profile (v2), found without importing WeasyPrint (about 1 s)."""
    spec = importlib.util.find_spec("weasyprint")
    if spec is None or spec.origin is None:
        raise FileNotFoundError("weasyprint is not installed: no sRGB ICC profile")
    return (Path(spec.origin).parent / "pdf" / "sRGB2014.icc").read_bytes()


def _output_intent(writer: PdfWriter) -> DictionaryObject:
    profile = DecodedStreamObject()
    profile.set_data(srgb_profile())
    profile[NameObject("/N")] = NumberObject(3)
    return DictionaryObject(
        {
            NameObject("/Type"): NameObject("/OutputIntent"),
            NameObject("/S"): NameObject("/GTS_PDFA1"),
            NameObject("/OutputConditionIdentifier"): TextStringObject(SRGB_NAME),
            NameObject("/Info"): TextStringObject(SRGB_NAME),
            NameObject("/RegistryName"): TextStringObject("http://www.color.org"),
            NameObject("/DestOutputProfile"): writer._add_object(profile.flate_encode()),
        }
    )


def _attach(writer: PdfWriter, attachment: Attachment, when: dt.datetime | None) -> None:
    """Embed attachment as an associated file of the document (ISO 19005-3, 6.8)."""
    params = DictionaryObject(
        {
            NameObject("/Size"): NumberObject(len(attachment.data)),
            NameObject("/CheckSum"): ByteStringObject(
                hashlib.md5(attachment.data, usedforsecurity=False).digest()
            ),
        }
    )
    if when is not None:
        params[NameObject("/ModDate")] = TextStringObject(pdf_date(when))
    stream = DecodedStreamObject()
    stream.set_data(attachment.data)
    stream[NameObject("/Type")] = NameObject("/EmbeddedFile")
    stream[NameObject("/Subtype")] = NameObject("/" + attachment.mime)
    stream[NameObject("/Params")] = params
    file_ref = writer._add_object(stream.flate_encode())
    spec = writer._add_object(
        DictionaryObject(
            {
                NameObject("/Type"): NameObject("/Filespec"),
                NameObject("/F"): TextStringObject(attachment.name),
                NameObject("/UF"): TextStringObject(attachment.name),
                NameObject("/Desc"): TextStringObject(attachment.description),
                NameObject("/AFRelationship"): NameObject(attachment.relationship),
                NameObject("/EF"): DictionaryObject(
                    {NameObject("/F"): file_ref, NameObject("/UF"): file_ref}
                ),
            }
        )
    )
    root: Any = writer.root_object
    if "/Names" not in root:
        root[NameObject("/Names")] = DictionaryObject()
    root["/Names"].get_object()[NameObject("/EmbeddedFiles")] = DictionaryObject(
        {NameObject("/Names"): ArrayObject([TextStringObject(attachment.name), spec])}
    )
    root[NameObject("/AF")] = ArrayObject([spec])


def _drop_unreachable(writer: PdfWriter) -> None:
    """Remove every object the document no longer reaches (the form's fields, ZapfDingbats).

    pypdf's own clean-up keeps objects that only refer to each other, as a radio group and
    its buttons do; this follows references from the catalog instead.
    """
    seen: set[int] = set()
    for _ in _reachable(writer, seen):
        pass
    for index in range(len(writer._objects)):
        if index + 1 not in seen:
            writer._objects[index] = None
