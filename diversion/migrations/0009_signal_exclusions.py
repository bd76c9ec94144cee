"""Phrases in which a police signal's word means something harmless, found where the default signals
fired on citizen messages that were no police matter: a word read across a word boundary (重伤 in 严重伤害,
伤人 in 工伤人员, 动手 in 调动手续, 被打 in 被打回, 上当 in 会上当选), in a figure of speech (第一枪, 刀枪不入,
打死我都不信) or in another sense (因工受伤, 居民聚集区). Merged into the existing rows: an administrator's
own exclusions stay."""

from django.db import migrations

EXCLUSIONS = {
    "injury": {"重伤": ["严重伤害", "严重伤及"], "伤人": ["工伤人员", "负伤人员"],
               "受伤": ["遭受伤害", "受伤害", "因工受伤"], "打死": ["打死我都", "打死也不"]},
    "fighting": {"动手": ["动手能力", "调动手续", "异动手续", "变动手续", "活动手册", "动手术", "动手做", "动手实践"],
                 "被打": ["被打入", "被打击", "被打回", "被打折扣", "被打上"]},
    "weapon": {"枪": ["机枪", "枪林弹雨", "刀枪不入", "第一枪", "真刀真枪", "枪上膛"]},
    "fraud": {"上当": ["以上当否", "会上当", "上当选"]},
    "missing": {"离家": ["离家如此", "离家近", "离家很近", "少小离家"]},
    "gathering": {"聚集": ["聚集区", "引流聚集"]},
    "theft": {"被偷": ["被偷天换日"]},
}


def load(apps, schema_editor):
    """Add the phrases where missing (idempotent: the test suite calls it again after a flush)."""
    PoliceSignal = apps.get_model("diversion", "PoliceSignal")
    for signal in PoliceSignal.objects.filter(code__in=EXCLUSIONS):
        exclusions = dict(signal.exclusions or {})
        for word, phrases in EXCLUSIONS[signal.code].items():
            present = list(exclusions.get(word, []))
            exclusions[word] = present + [p for p in phrases if p not in present]
        if exclusions != signal.exclusions:
            signal.exclusions = exclusions
            signal.save(update_fields=["exclusions"])


def unload(apps, schema_editor):
    PoliceSignal = apps.get_model("diversion", "PoliceSignal")
    for signal in PoliceSignal.objects.filter(code__in=EXCLUSIONS):
        exclusions = dict(signal.exclusions or {})
        for word, phrases in EXCLUSIONS[signal.code].items():
            kept = [p for p in exclusions.get(word, []) if p not in phrases]
            if kept:
                exclusions[word] = kept
            else:
                exclusions.pop(word, None)
        signal.exclusions = exclusions
        signal.save(update_fields=["exclusions"])


class Migration(migrations.Migration):
    dependencies = [("diversion", "0008_keep_model")]
    operations = [migrations.RunPython(load, unload)]
