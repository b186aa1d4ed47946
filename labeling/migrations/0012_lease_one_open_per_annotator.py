from django.db import migrations, models
from django.db.models import Q


class Migration(migrations.Migration):
    dependencies = [("labeling", "0011_one_open_lease")]

    operations = [
        migrations.AddConstraint(
            model_name="lease",
            constraint=models.UniqueConstraint(condition=Q(status="open"), fields=("annotator",),
                                               name="lease_one_open_per_annotator"),
        ),
    ]
