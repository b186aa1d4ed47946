# One queue per project: the claim walks a project's open entries best first (built before the old index
# goes, so claims always have one).

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('labeling', '0021_projects'),
    ]

    operations = [
        migrations.AddIndex(
            model_name='queueentry',
            index=models.Index(models.F('project'), models.OrderBy(models.F('priority'), descending=True), models.F('id'), condition=models.Q(('is_open', True)), name='queue_open_by_project'),
        ),
        migrations.RemoveIndex(
            model_name='queueentry',
            name='queue_open_by_priority',
        ),
    ]
