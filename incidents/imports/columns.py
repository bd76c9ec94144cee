"""A call's fields in an import, the column names exports use for them, and one row read into values."""

import math
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.phones import caller_key, phone_normalise
from core.times import earliest_day

from ..models import CONTENT_MAX_CHARS


@dataclass(frozen=True)
class Field:
    label: str
    required: bool
    names: tuple[str, ...]  # column names that mean this field, compared without case and spaces


FIELDS = {
    "call_id": Field(gettext_lazy("110 call id"), True,
                     ("call_id", "id", "接警单号", "接警单编号", "接警编号", "警情编号", "警情单号", "警单编号",
                      "编号")),
    "received_at": Field(gettext_lazy("received at"), True,
                         ("received_at", "time", "报警时间", "接警时间", "来电时间", "受理时间", "时间")),
    "content": Field(gettext_lazy("content"), True,
                     ("content", "text", "报警内容", "警情内容", "简要警情", "简要案情", "内容", "警情描述")),
    "caller_phone": Field(gettext_lazy("caller phone"), False,
                          ("caller_phone", "phone", "报警电话", "报警人电话", "来电号码", "联系电话", "电话")),
    "caller_name": Field(gettext_lazy("caller name"), False, ("caller_name", "name", "报警人", "报警人姓名", "姓名")),
    "address": Field(gettext_lazy("address"), False,
                     ("address", "地址", "案发地址", "发生地址", "事发地址", "报警地址", "案发地点")),
    "lat": Field(gettext_lazy("latitude"), False, ("lat", "latitude", "纬度")),
    "lon": Field(gettext_lazy("longitude"), False, ("lon", "lng", "longitude", "经度")),
    "is_police": Field(gettext_lazy("police matter (yes/no)"), False,
                       ("is_police", "police", "是否警情", "有效警情", "是否有效警情")),
}
REQUIRED = tuple(name for name, f in FIELDS.items() if f.required)
YES = {"1", "true", "yes", "y", "是", "有效", "警情", "有效警情"}
NO = {"0", "false", "no", "n", "否", "无效", "非警情", "无效警情"}


def _key(name) -> str:
    return re.sub(r"\s+", "", str(name or "")).lower()


def guess_mapping(headers: list[str]) -> dict[str, str]:
    """{field: column name} for the columns whose names an export is likely to use; a column serves one field."""
    found, used = {}, set()
    keys = [_key(h) for h in headers]
    for field, spec in FIELDS.items():
        for name in spec.names:
            if name in keys and keys.index(name) not in used:
                used.add(keys.index(name))
                found[field] = headers[keys.index(name)]
                break
    return found


class RowError(ValueError):
    """A row that cannot be imported; the message is the reason shown with its line."""


_CN_TIME = re.compile(r"^\s*(\d{4})\D{1,3}(\d{1,2})\D{1,3}(\d{1,2})\D{0,3}?\s*(?:(\d{1,2})\D{1,3}(\d{1,2})"
                      r"(?:\D{1,3}(\d{1,2}))?(?:\D{0,3}?\.\d+)?)?\D{0,3}$")


def parse_time(value, zone=None) -> datetime:
    """An export's time: a spreadsheet date, ISO 8601 (with or without an offset), or the usual Chinese forms
    (2024/4/11 23:35, 2024年4月11日 23时35分59秒). A time without an offset is local time (TIME_ZONE)."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime.combine(value, time.min)
    else:
        text = str(value or "").strip()
        if not text:
            raise RowError(_("no time"))
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            match = _CN_TIME.match(text)
            if match is None:
                raise RowError(_("“%(value)s” is not a time") % {"value": text[:40]}) from None
            y, mo, d, h, mi, s = (int(g) if g else 0 for g in match.groups())
            try:
                moment = datetime(y, mo, d, h, mi, s)
            except ValueError:
                raise RowError(_("“%(value)s” is not a time") % {"value": text[:40]}) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone) if zone is not None else timezone.make_aware(moment)
    return moment


class RowReader:
    """Reads the mapped cells of one row into the values a call is stored with, or raises RowError. Called once
    per row of files with millions: the column positions and the time zone are looked up once."""

    def __init__(self, headers: list[str], mapping: dict[str, str]):
        index = {h: i for i, h in reversed(list(enumerate(headers)))}
        self.columns = {field: index[name] for field, name in mapping.items() if name and name in index}
        self.positions = [self.columns.get(field) for field in FIELDS]
        self.earliest = timezone.make_aware(datetime.combine(earliest_day(), time.min))
        self.latest = timezone.now() + timedelta(minutes=settings.EVENT_TIME_MAX_AHEAD_MINUTES)
        self.zone = timezone.get_current_timezone()

    def cells(self, row) -> list:
        out = []
        width = len(row)
        for i in self.positions:
            value = row[i] if i is not None and i < width else None
            if value is None:
                out.append("")
            elif isinstance(value, str):
                out.append(value.strip())
            elif isinstance(value, datetime | date):
                out.append(value)
            else:
                out.append(str(value).strip())
        return out

    def read(self, row) -> dict:
        call_id, when, content, phone, name, address, lat, lon, police = self.cells(row)
        if not call_id:
            raise RowError(_("no 110 call id"))
        if len(call_id) > 64:
            raise RowError(_("the 110 call id is longer than 64 characters"))
        received_at = parse_time(when, self.zone)
        if not self.earliest <= received_at <= self.latest:
            raise RowError(_("the time %(value)s is out of range (%(first)s to now)") % {
                "value": received_at.isoformat(), "first": earliest_day().isoformat()})
        if not content:
            raise RowError(_("no content"))
        if len(content) > CONTENT_MAX_CHARS:
            raise RowError(_("the content is longer than %(n)d characters") % {"n": CONTENT_MAX_CHARS})
        if phone:
            try:
                phone = phone_normalise(phone)
            except ValidationError as exc:
                raise RowError(_("caller phone: %(reason)s") % {"reason": exc.messages[0]}) from None
        if len(name) > 64:
            raise RowError(_("the caller name is longer than 64 characters"))
        if len(address) > 200:
            raise RowError(_("the address is longer than 200 characters"))
        lat, lon = self._point(lat, lon)
        if police:
            flag = police.lower()
            if flag not in YES and flag not in NO:
                raise RowError(_("“%(value)s” is neither yes nor no") % {"value": police[:20]})
            police = flag in YES
        else:
            police = None
        return {"call_id": call_id, "received_at": received_at, "caller_phone": phone, "caller_name": name,
                "caller_key": caller_key(phone) if phone else "", "address": address, "lat": lat, "lon": lon,
                "content": content, "is_police": police}

    @staticmethod
    def _point(lat, lon):
        if lat == "" and lon == "":
            return None, None
        try:
            la, lo = float(lat), float(lon)
        except (TypeError, ValueError):
            raise RowError(_("latitude and longitude must both be numbers")) from None
        if not (math.isfinite(la) and math.isfinite(lo) and -90 <= la <= 90 and -180 <= lo <= 180):
            raise RowError(_("%(lat)s, %(lon)s is not a position") % {"lat": lat, "lon": lon})
        return la, lo
