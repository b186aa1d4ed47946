# Projects. Every existing row goes into the default project (id 1), made here with the settings the
# instance ran under; the new columns default to it, so nothing already stored changes meaning.

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def default_project(apps, schema_editor):
    project = apps.get_model("labeling", "Project")
    project.objects.get_or_create(pk=1, defaults=dict(
        slug="default", name="Default project", qc_every=settings.LABEL_QC_EVERY,
        lease_seconds=settings.LABEL_LEASE_SECONDS, screening_threshold=settings.LABEL_SCREENING_THRESHOLD))
    if schema_editor.connection.vendor == "postgresql":  # the next project made must not take id 1 again
        schema_editor.execute("SELECT setval(pg_get_serial_sequence('labeling_project', 'id'), "
                              "(SELECT max(id) FROM labeling_project))")


def members_of_default(apps, schema_editor):
    """Everyone who could label, review or run rounds before keeps that role, in the default project."""
    annotator, member = apps.get_model("labeling", "Annotator"), apps.get_model("labeling", "ProjectMember")
    member.objects.bulk_create([member(project_id=1, user_id=a.user_id, role=a.role)
                                for a in annotator.objects.filter(user__isnull=False).order_by("id")])


class Migration(migrations.Migration):

    dependencies = [
        ('labeling', '0020_lease_index_with_created'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='Project',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('slug', models.SlugField(unique=True)),
                ('name', models.CharField(max_length=200)),
                ('guidelines', models.TextField(blank=True, default='', help_text="Markdown, shown in the labelling page's instructions panel.")),
                ('protocol', models.CharField(choices=[('first_error', 'Stop at the first error (PRM800K phase 2)'), ('alternatives', 'Rate alternatives and write your own step (PRM800K phase 1)'), ('every_step', 'Rate every step without stopping')], default='first_error', max_length=16)),
                ('allow_neutral', models.BooleanField(default=True, help_text='Whether 0 (neutral) is a rating here.')),
                ('default_overlap', models.PositiveSmallIntegerField(default=1, help_text='Passes wanted per solution queued.')),
                ('qc_every', models.PositiveSmallIntegerField(default=10, help_text='One QC question after this many tasks.')),
                ('screening_threshold', models.FloatField(default=0.8, help_text='First-error agreement that passes screening.')),
                ('lease_seconds', models.PositiveIntegerField(default=1800, help_text='A claimed task returns to the queue after this long.')),
                ('created_at', models.DateTimeField(auto_now_add=True)),
            ],
            options={
                'ordering': ['id'],
                'constraints': [models.CheckConstraint(condition=models.Q(('protocol__in', ['first_error', 'alternatives', 'every_step'])), name='project_protocol_valid'), models.CheckConstraint(condition=models.Q(('default_overlap__gte', 1)), name='project_overlap_positive'), models.CheckConstraint(condition=models.Q(('screening_threshold__gte', 0), ('screening_threshold__lte', 1)), name='project_threshold_0_1')],
            },
        ),
        migrations.RunPython(default_project, migrations.RunPython.noop),
        migrations.AddField(
            model_name='autolabelrun',
            name='project',
            field=models.ForeignKey(db_default=1, default=1, on_delete=django.db.models.deletion.PROTECT, related_name='label_runs', to='labeling.project'),
        ),
        migrations.AddField(
            model_name='exportjob',
            name='project',
            field=models.ForeignKey(db_default=1, default=1, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='labeling.project'),
        ),
        migrations.AddField(
            model_name='importjob',
            name='project',
            field=models.ForeignKey(db_default=1, default=1, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='labeling.project'),
        ),
        migrations.AddField(
            model_name='labeledpass',
            name='project',
            field=models.ForeignKey(db_default=1, default=1, on_delete=django.db.models.deletion.PROTECT, related_name='passes', to='labeling.project'),
        ),
        migrations.AddField(
            model_name='problem',
            name='project',
            field=models.ForeignKey(db_default=1, default=1, on_delete=django.db.models.deletion.PROTECT, related_name='problems', to='labeling.project'),
        ),
        migrations.AddField(
            model_name='queueentry',
            name='project',
            field=models.ForeignKey(db_default=1, default=1, on_delete=django.db.models.deletion.PROTECT, related_name='queue', to='labeling.project'),
        ),
        migrations.AddField(
            model_name='solution',
            name='project',
            field=models.ForeignKey(db_default=1, default=1, on_delete=django.db.models.deletion.PROTECT, related_name='solutions', to='labeling.project'),
        ),
        migrations.CreateModel(
            name='ProjectMember',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('role', models.CharField(choices=[('annotator', 'Annotator'), ('admin', 'Admin'), ('ml_staff', 'ML staff')], default='annotator', max_length=16)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('project', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='members', to='labeling.project')),
                ('user', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='project_roles', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'constraints': [models.UniqueConstraint(fields=('project', 'user'), name='project_member_once'), models.CheckConstraint(condition=models.Q(('role__in', ['annotator', 'admin', 'ml_staff'])), name='project_member_role_valid')],
            },
        ),
        migrations.RunPython(members_of_default, migrations.RunPython.noop),
    ]
