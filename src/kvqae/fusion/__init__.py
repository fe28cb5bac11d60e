"""kvqae.fusion"""
