"""agssp: Anomaly-Guided Self-Supervised Pretraining as an OpenMMLab plugin package."""
from pathlib import Path
from setuptools import find_packages, setup


def read_requirements():
    """Pinned runtime requirements, without comments, torch and test-only packages."""
    lines = Path(__file__).with_name('requirements.txt').read_text().splitlines()
    reqs = [ln.strip() for ln in lines if ln.strip() and not ln.startswith('#')]
    return [r for r in reqs if not r.startswith('pytest')]


setup(
    name='agssp',
    version='0.1.0',
    description='Anomaly-guided self-supervised pretraining for surface defect detection '
                '(OpenMMLab plugins)',
    long_description=Path(__file__).with_name('README.md').read_text()
    if Path(__file__).with_name('README.md').exists() else '',
    long_description_content_type='text/markdown',
    packages=find_packages(include=['agssp', 'agssp.*']),
    package_data={'agssp': ['**/*.json']},
    python_requires='>=3.9',
    install_requires=read_requirements(),
    license='Apache-2.0',
)
