# Next-task counts an annotator's submitted leases newest first, stopping at LABEL_QC_EVERY: the index
# gains created_at (built before the old one goes, so lookups by annotator and status always have one).

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('labeling', '0019_drop_unused_like_indexes'),
    ]

    operations = [
        migrations.AddIndex(
            model_name='lease',
            index=models.Index(fields=['annotator', 'status', 'created_at'], name='lease_annotator_status_created'),
        ),
        migrations.RemoveIndex(
            model_name='lease',
            name='lease_annotator_status',
        ),
    ]
