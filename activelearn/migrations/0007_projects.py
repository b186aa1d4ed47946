# Rounds, model versions, policy connections and generation runs belong to a project (the default one for
# every row made before).

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('activelearn', '0006_auto_label_stage'),
        ('labeling', '0021_projects'),
    ]

    operations = [
        migrations.AddField(
            model_name='generationrun',
            name='project',
            field=models.ForeignKey(db_default=1, default=1, on_delete=django.db.models.deletion.PROTECT, related_name='generation_runs', to='labeling.project'),
        ),
        migrations.AddField(
            model_name='modelversion',
            name='project',
            field=models.ForeignKey(db_default=1, default=1, on_delete=django.db.models.deletion.PROTECT, related_name='model_versions', to='labeling.project'),
        ),
        migrations.AddField(
            model_name='policyconnection',
            name='project',
            field=models.ForeignKey(db_default=1, default=1, on_delete=django.db.models.deletion.PROTECT, related_name='connections', to='labeling.project'),
        ),
        migrations.AddField(
            model_name='round',
            name='project',
            field=models.ForeignKey(db_default=1, default=1, on_delete=django.db.models.deletion.PROTECT, related_name='rounds', to='labeling.project'),
        ),
    ]
